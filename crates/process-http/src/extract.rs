//! Request parts parsed once at the edge: the id in a process or bitstream path, the
//! capability presented for an anonymous process, which form of the console output the
//! client accepts, the base URL its links are made under and the client address it is
//! limited by (both read with the configuration, by `crate::forwarded`'s rules).

use std::future::{ready, Ready};
use std::net::IpAddr;
use std::str::FromStr;

use actix_web::http::header::{Accept, Header, Quality};
use actix_web::{web, FromRequest, HttpRequest};
use process_core::auth::missing;
use process_core::{Caller, FileId, Process, ProcessId, UserId};

use crate::capability::{self, Capability};
use crate::error::ApiError;
use crate::forwarded::{base_url, client_ip, TrustedProxies};
use crate::hal::BaseUrl;
use crate::limits::ClientAddr;
use crate::state::AppState;

/// The `{id}` of a process route. A segment that is no process id (`abc`, `0`, `-1`) is not a
/// 400: it is a process nobody has, so it answers exactly like a missing or hidden one.
pub struct ProcessPath(Option<ProcessId>);

/// The `{uuid}` of a bitstream route; like `ProcessPath`, a bad one is a missing file.
pub struct BitstreamPath(Option<FileId>);

/// The `{uuid}` of an eperson route; like `ProcessPath`, a bad one is a missing user.
pub struct EpersonPath(Option<UserId>);

/// The id, or the answer for something `caller` cannot see.
fn or_missing<T>(id: Option<T>, caller: &Caller) -> Result<T, ApiError> {
    id.ok_or_else(|| missing(caller).into())
}

impl ProcessPath {
    pub fn id(&self, caller: &Caller) -> Result<ProcessId, ApiError> {
        or_missing(self.0, caller)
    }
}

impl BitstreamPath {
    pub fn id(&self, caller: &Caller) -> Result<FileId, ApiError> {
        or_missing(self.0, caller)
    }
}

impl EpersonPath {
    pub fn id(&self, caller: &Caller) -> Result<UserId, ApiError> {
        or_missing(self.0, caller)
    }
}

fn segment<T: FromStr>(req: &HttpRequest, name: &str) -> Option<T> {
    req.match_info().get(name).and_then(|s| s.parse().ok())
}

impl FromRequest for ProcessPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Self(segment(req, "id"))))
    }
}

impl FromRequest for BitstreamPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Self(segment(req, "uuid"))))
    }
}

impl FromRequest for EpersonPath {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Self(segment(req, "uuid"))))
    }
}

/// The capability a request presents for a process started anonymously: the
/// `X-Process-Access` header, else the `access` query parameter. It is only compared (as a
/// digest, through `auth::may_access`), and carried on in the links of an answer about the
/// process it opens, so a client following links keeps its access.
pub struct ProcessAccess(Option<Capability>);

impl ProcessAccess {
    /// Does the presented capability open `process`?
    pub fn opens(&self, process: &Process) -> bool {
        self.0
            .as_ref()
            .is_some_and(|c| c.opens(process.access_hash.as_deref()))
    }

    /// The capability to carry in the links of an answer about `process`: only one that opens
    /// it, never whatever a client sent.
    pub fn carried(&self, process: &Process) -> Option<&str> {
        self.0
            .as_ref()
            .filter(|c| c.opens(process.access_hash.as_deref()))
            .map(|c| c.value.as_str())
    }

    fn of_request(req: &HttpRequest) -> Self {
        let header = req
            .headers()
            .get(capability::HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let query = || {
            serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                .ok()?
                .into_iter()
                .find(|(k, _)| k == capability::QUERY)
                .map(|(_, v)| v)
        };
        Self(
            header
                .or_else(query)
                .and_then(|v| Capability::presented(&v)),
        )
    }
}

impl FromRequest for ProcessAccess {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Self::of_request(req)))
    }
}

/// What the client of `GET .../output` prefers, by q-value (RFC 9110 §12.5.1; among equals,
/// the more specific type, then the one listed first): an event stream (resuming after the
/// `Last-Event-ID` line), JSON (the console log as a bitstream, which is what the DSpace UI's
/// `application/json, text/plain, */*` asks for), or (the default) plain text.
pub enum OutputForm {
    Events { after: i64 },
    Json,
    Text,
}

impl OutputForm {
    fn negotiate(req: &HttpRequest) -> Self {
        let Ok(accept) = Accept::parse(req) else {
            return OutputForm::Text;
        };
        // A q of 0 means "not this".
        let wanted = Accept(
            accept
                .0
                .into_iter()
                .filter(|m| m.quality > Quality::ZERO)
                .collect(),
        );
        for mime in wanted.ranked() {
            // `application/hal+json` has the subtype `hal` and the suffix `json`.
            let json = mime.suffix().map(|s| s.as_str()) == Some("json");
            match (mime.type_().as_str(), mime.subtype().as_str()) {
                ("application", _) if json => return OutputForm::Json,
                ("text", "event-stream") => {
                    return OutputForm::Events {
                        after: last_event_id(req),
                    }
                }
                ("application", "json" | "*") => return OutputForm::Json,
                ("text", "plain" | "*") | ("*", "*") => return OutputForm::Text,
                _ => {}
            }
        }
        OutputForm::Text
    }
}

/// The last line a reconnecting event-stream client saw; 0 (from the start) when absent or
/// not a number.
fn last_event_id(req: &HttpRequest) -> i64 {
    req.headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0)
        .max(0)
}

impl FromRequest for OutputForm {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Self::negotiate(req)))
    }
}

impl FromRequest for BaseUrl {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let base = match req.app_data::<web::Data<AppState>>() {
            Some(state) => base_url(
                req,
                state.config.public_url.as_ref(),
                &state.config.trusted_proxies,
            ),
            None => base_url(req, None, &TrustedProxies::default()),
        };
        ready(Ok(base))
    }
}

impl ClientAddr {
    /// The client of a request: its peer, or the client a trusted proxy names in
    /// `X-Forwarded-For` (see `forwarded::client_ip`); requests without a peer (not over TCP)
    /// share one key.
    pub fn of_request(req: &HttpRequest) -> Self {
        let none = TrustedProxies::default();
        let proxies = req
            .app_data::<web::Data<AppState>>()
            .map_or(&none, |s| &s.config.trusted_proxies);
        Self::of(client_ip(req, proxies).unwrap_or(IpAddr::from([0, 0, 0, 0])))
    }
}
