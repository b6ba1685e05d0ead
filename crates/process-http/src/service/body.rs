//! Receiving request bodies: the one way launches and upload sessions read headers about the
//! body and stream bytes to disk, with a size budget applied as bytes arrive, a cut-off for
//! stalled senders, and MD5 computed on the way. What happens to the bytes then is the data
//! directory's protocol (`process_datadir::Staged`).

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::HttpRequest;
use futures_util::{Stream, StreamExt};
use process_datadir::Staged;
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;

/// A client that sends nothing for this long in the middle of a body is cut off, so slow
/// senders cannot hold connections and temporary files forever.
pub const BODY_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

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

/// Waits for the next piece of a body, or answers 408 when the sender stalls.
pub async fn idle<T>(next: impl std::future::Future<Output = T>) -> Result<T, ApiError> {
    tokio::time::timeout(BODY_IDLE_TIMEOUT, next)
        .await
        .map_err(|_| {
            ApiError::RequestTimeout(format!(
                "the request body stalled for more than {} s",
                BODY_IDLE_TIMEOUT.as_secs()
            ))
        })
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
) -> Result<(), ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut out = tokio::fs::File::create(staged.path())
        .await
        .map_err(io_error)?;
    while let Some(chunk) = idle(body.next()).await? {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("the body was cut short: {e}")))?;
        *used += chunk.len() as u64;
        if *used > limit {
            return Err(too_large(limit));
        }
        out.write_all(&chunk).await.map_err(io_error)?;
        staged.record(&chunk);
    }
    out.sync_all().await.map_err(io_error)
}
