//! Receiving request bodies: the one way launches and upload sessions read headers about the
//! body and stream bytes to disk, with a size budget applied as bytes arrive, a cut-off for
//! stalled or trickling senders (`Pace`), and MD5 computed on the way. What happens to the bytes then is the data
//! directory's protocol (`process_datadir::Staged`).

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::HttpRequest;
use futures_util::{Stream, StreamExt};
use process_datadir::Staged;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use crate::config::Config;
use crate::error::ApiError;

/// The media type of the request, lower case, without parameters.
pub fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The announced body length, if any.
pub fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// How fast a body must arrive. A sender that sends nothing for `idle` is cut off; after a
/// first `idle` of grace, the body must also average `min_rate` bytes a second, so a trickle
/// (a byte every 25 s) cannot hold a connection and a temporary file open for ever.
pub struct Pace {
    started: Instant,
    received: u64,
    idle: Duration,
    min_rate: u64,
}

impl Pace {
    pub fn new(config: &Config) -> Self {
        Self {
            started: Instant::now(),
            received: 0,
            idle: config.body_idle_timeout,
            min_rate: config.body_min_bytes_per_second,
        }
    }

    /// Waits for the next piece of the body, or answers 408 when the sender stalls or falls
    /// below the minimum rate.
    pub async fn next<T>(
        &mut self,
        next: impl std::future::Future<Output = T>,
    ) -> Result<T, ApiError> {
        let idle_deadline = Instant::now() + self.idle;
        let deadline = match self.rate_deadline() {
            Some(d) if d < idle_deadline => d,
            _ => idle_deadline,
        };
        tokio::time::timeout_at(deadline, next).await.map_err(|_| {
            if deadline < idle_deadline {
                ApiError::RequestTimeout(format!(
                    "the request body arrived slower than {} bytes a second",
                    self.min_rate
                ))
            } else {
                ApiError::RequestTimeout(format!(
                    "the request body stalled for more than {} s",
                    self.idle.as_secs()
                ))
            }
        })
    }

    /// Counts `n` bytes received.
    pub fn add(&mut self, n: usize) {
        self.received = self.received.saturating_add(n as u64);
    }

    /// When the bytes received so far, plus the next one, are due at the minimum rate.
    fn rate_deadline(&self) -> Option<Instant> {
        if self.min_rate == 0 {
            return None;
        }
        let due = Duration::from_secs_f64((self.received + 1) as f64 / self.min_rate as f64);
        Some(self.started + self.idle + due)
    }
}

pub fn too_large(limit: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!("uploads are limited to {limit} bytes"))
}

/// A write error on the data directory (its status is decided in `crate::error`).
pub fn io_error(e: std::io::Error) -> ApiError {
    e.into()
}

/// Streams `body` into the new file `staged` names, recording each piece, and syncs it.
/// `used` counts the bytes of the whole request against `limit` (413 beyond it). On error
/// dropping `staged` removes what was written.
pub async fn receive<S, E>(
    body: &mut S,
    staged: &mut Staged,
    limit: u64,
    used: &mut u64,
    pace: &mut Pace,
) -> Result<(), ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut out = tokio::fs::File::create(staged.path())
        .await
        .map_err(io_error)?;
    while let Some(chunk) = pace.next(body.next()).await? {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("the body was cut short: {e}")))?;
        pace.add(chunk.len());
        *used += chunk.len() as u64;
        if *used > limit {
            return Err(too_large(limit));
        }
        out.write_all(&chunk).await.map_err(io_error)?;
        staged.record(&chunk);
    }
    out.sync_all().await.map_err(io_error)
}

/// Largest JSON request body.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// Reads a JSON request body of at most [`MAX_JSON_BYTES`] that must be an object (serde
/// would read a struct from an array too; the API documents objects).
pub async fn read_json_object(
    req: &HttpRequest,
    mut payload: web::Payload,
    mut pace: Pace,
) -> Result<serde_json::Value, ApiError> {
    if content_type(req) != "application/json" {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be application/json".into(),
        ));
    }
    let too_large =
        || ApiError::PayloadTooLarge(format!("JSON bodies are limited to {MAX_JSON_BYTES} bytes"));
    if content_length(req).is_some_and(|n| n > MAX_JSON_BYTES as u64) {
        return Err(too_large());
    }
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = pace.next(payload.next()).await? {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
        pace.add(chunk.len());
        if buf.len() + chunk.len() > MAX_JSON_BYTES {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    let value: serde_json::Value = serde_json::from_slice(&buf)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    Ok(value)
}
