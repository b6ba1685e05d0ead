//! The one map from errors to HTTP. Every error response has the JSON shape
//! `{"status", "error", "message", "path", "code"}`, where `code` is a stable snake_case name
//! clients can branch on; 5xx bodies say nothing of the cause, which is logged instead.
//!
//! The core and the store say *what* went wrong (a `ValidationError` variant, a process still
//! RUNNING, a full disk); which status that becomes is decided here and nowhere else, in
//! [`ApiError::class`].

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use process_core::{
    Denied, ParseError, ProcessId, ProcessStatus, TransitionError, UploadError, UploadStatus,
    ValidationError,
};
use process_datadir::is_disk_full;
use process_runner::RunnerError;
use process_store::StoreError;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// A value in the request that does not parse (an id, a sort order, a page size).
    #[error(transparent)]
    InvalidValue(#[from] ParseError),
    /// Launch parameters that do not fit the script.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A process lifecycle step its status does not allow.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// An upload session or file change its state or its names do not allow.
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("process {0} is RUNNING; stop it first")]
    ProcessRunning(i64),
    #[error("process {id} cannot be deleted: process {waiter} is waiting for it")]
    DependencyWaiting { id: i64, waiter: i64 },
    #[error("process {id} already finished ({status})")]
    ProcessFinished {
        id: ProcessId,
        status: ProcessStatus,
    },
    /// A client asked to set an upload session's status, which only the service changes.
    #[error("status is {0}; it changes only as files are uploaded and a process uses them")]
    StatusReadOnly(UploadStatus),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// A state-changing request from a browser page of another origin.
    #[error("{0}")]
    CrossOrigin(String),
    #[error("{0}")]
    NotFound(String),
    /// A path that exists, asked with a method it does not have; `allow` lists those it has.
    #[error("{method} is not allowed on this resource; it allows {allow}")]
    MethodNotAllowed {
        method: actix_web::http::Method,
        allow: String,
    },
    /// More ids, filters or parts than one request may carry; the message names the limit.
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A well-formed request whose content cannot be used (a webhook URL that may not be
    /// reached, an unknown event type).
    #[error("{0}")]
    Unprocessable(String),
    /// A client over a rate limit (login attempts): 429 with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    /// A caller, or the service, holds as many of something (archives being written, live
    /// feeds) as it may at once: 429 with `Retry-After`.
    #[error("{message}")]
    TooManyConcurrent {
        message: String,
        retry_after: Duration,
    },
    /// A bound shared by all clients is reached (password hashes at once): 503 with
    /// `Retry-After`.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after: Duration,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error("insufficient storage: {0}")]
    InsufficientStorage(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    status: u16,
    error: &'a str,
    message: String,
    path: &'a str,
    code: &'static str,
}

impl ApiError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    /// The table: every error's status and its stable `code`. Codes are part of the API
    /// (docs/API.md lists them): add new ones, never rename one.
    pub fn class(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            ApiError::BadRequest(_) => (S::BAD_REQUEST, "bad_request"),
            ApiError::InvalidValue(_) => (S::BAD_REQUEST, "invalid_value"),
            // As DSpace does: well-formed parameters whose files do not match are a 422.
            ApiError::Validation(ValidationError::FileNotSent { .. }) => {
                (S::UNPROCESSABLE_ENTITY, "file_not_sent")
            }
            ApiError::Validation(ValidationError::DuplicateFile { .. }) => {
                (S::UNPROCESSABLE_ENTITY, "duplicate_file")
            }
            ApiError::Validation(ValidationError::FileNotUsed { .. }) => {
                (S::UNPROCESSABLE_ENTITY, "file_not_used")
            }
            ApiError::Validation(ValidationError::OptionLike { .. }) => {
                (S::BAD_REQUEST, "option_like_value")
            }
            ApiError::Validation(_) => (S::BAD_REQUEST, "validation_failed"),
            ApiError::Transition(_) => (S::UNPROCESSABLE_ENTITY, "invalid_transition"),
            ApiError::Upload(e) => match e {
                // Malformed input rather than a request the current state refuses.
                UploadError::InvalidName { .. } | UploadError::InvalidUiKey => {
                    (S::BAD_REQUEST, "invalid_file_definition")
                }
                UploadError::Definition { .. } | UploadError::File { .. } => {
                    (S::UNPROCESSABLE_ENTITY, "invalid_transition")
                }
                UploadError::DuplicateName { .. } => (S::UNPROCESSABLE_ENTITY, "duplicate_file"),
                UploadError::UnknownFile { .. } => (S::UNPROCESSABLE_ENTITY, "unknown_file"),
                UploadError::TooManyFiles => (S::UNPROCESSABLE_ENTITY, "too_many_files"),
                UploadError::Changed => (S::UNPROCESSABLE_ENTITY, "upload_changed"),
                // A refusal the core learned after this table was written.
                _ => (S::UNPROCESSABLE_ENTITY, "invalid_transition"),
            },
            ApiError::ProcessRunning(_) => (S::UNPROCESSABLE_ENTITY, "process_running"),
            ApiError::DependencyWaiting { .. } => (S::UNPROCESSABLE_ENTITY, "dependency_waiting"),
            ApiError::ProcessFinished { .. } => (S::UNPROCESSABLE_ENTITY, "process_finished"),
            ApiError::StatusReadOnly(_) => (S::UNPROCESSABLE_ENTITY, "status_read_only"),
            ApiError::Unauthorized(_) => (S::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (S::FORBIDDEN, "forbidden"),
            ApiError::CrossOrigin(_) => (S::FORBIDDEN, "cross_origin"),
            ApiError::NotFound(_) => (S::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed { .. } => (S::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::LimitExceeded(_) => (S::BAD_REQUEST, "limit_exceeded"),
            ApiError::RequestTimeout(_) => (S::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::PayloadTooLarge(_) => (S::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Unprocessable(_) => (S::UNPROCESSABLE_ENTITY, "unprocessable"),
            ApiError::UnsupportedMediaType(_) => {
                (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::RateLimited { .. } => (S::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::TooManyConcurrent { .. } => (S::TOO_MANY_REQUESTS, "too_many_concurrent"),
            ApiError::Busy { .. } => (S::SERVICE_UNAVAILABLE, "busy"),
            ApiError::Unavailable(_) => (S::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::InsufficientStorage(_) => (S::INSUFFICIENT_STORAGE, "insufficient_storage"),
            ApiError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The stable code of the error body.
    pub fn code(&self) -> &'static str {
        self.class().1
    }

    /// When the client may try again, for the answers that say so.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. }
            | ApiError::TooManyConcurrent { retry_after, .. }
            | ApiError::Busy { retry_after, .. } => Some(*retry_after),
            ApiError::Unavailable(_) => Some(Duration::from_secs(5)),
            _ => None,
        }
    }
}

/// The code of an error response that no `ApiError` made: bodiless answers from routing and
/// file serving, and errors of actix's own extractors.
fn code_of_status(status: StatusCode) -> &'static str {
    match status {
        // Routing found no resource for the path; a missing object is `not_found`.
        StatusCode::NOT_FOUND => "no_route",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::RANGE_NOT_SATISFIABLE => "range_not_satisfiable",
        StatusCode::PRECONDITION_FAILED => "precondition_failed",
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "client_error",
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.class().0
    }

    fn error_response(&self) -> HttpResponse {
        // The body is written by `json_errors`, which knows the request path.
        let mut res = HttpResponse::new(self.status_code());
        if matches!(self, ApiError::Unauthorized(_)) {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            if let Ok(value) = HeaderValue::from_str(allow) {
                res.headers_mut().insert(header::ALLOW, value);
            }
        }
        if let Some(after) = self.retry_after() {
            // Whole seconds, rounded up: a client that waits this long is let through.
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        res
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Unauthenticated => ApiError::Unauthorized("authentication is required".into()),
            Denied::Forbidden => ApiError::Forbidden("you are not allowed to do this".into()),
            Denied::Hidden => ApiError::NotFound("not found".into()),
            // A refusal the core learned after this table was written hides what it refuses.
            _ => ApiError::NotFound("not found".into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Running(id) => ApiError::ProcessRunning(id),
            StoreError::Depended(id, waiter) => ApiError::DependencyWaiting { id, waiter },
            StoreError::Transition(t) => t.into(),
            StoreError::Upload(u) => u.into(),
            e if e.is_storage_full() => {
                tracing::error!(error = %e, "disk full");
                ApiError::InsufficientStorage("the data directory is full".into())
            }
            e if e.is_unavailable() => {
                tracing::error!(error = %e, "store unavailable");
                ApiError::Unavailable("the database is unavailable; try again".into())
            }
            e => ApiError::internal(e),
        }
    }
}

impl From<RunnerError> for ApiError {
    fn from(e: RunnerError) -> Self {
        match e.into_cause().downcast::<StoreError>() {
            Ok(store) => (*store).into(),
            Err(other) => ApiError::internal(anyhow::anyhow!(other)),
        }
    }
}

/// A failed read or write of the data directory: 507 when the disk is full, else a 500.
impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        if is_disk_full(&e) {
            ApiError::InsufficientStorage("the data directory is full".into())
        } else {
            ApiError::internal(e)
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

/// Gives every 4xx/5xx response the JSON error body: responses made from an `ApiError`, from
/// extractor errors (bad query string, bad path), and bodiless ones from routing or file
/// serving (404, 405, 416). Headers such as `Content-Range` or `WWW-Authenticate` are kept.
pub fn json_errors<B: MessageBody + 'static>(res: ServiceResponse<B>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res.map_into_boxed_body();
    }
    let (message, code) = match res.response().error() {
        Some(e) => match e.as_error::<ApiError>() {
            Some(api @ ApiError::Internal(cause)) => {
                tracing::error!(error = ?cause, "internal error");
                ("internal error".to_owned(), api.code())
            }
            Some(api) => (api.to_string(), api.code()),
            None if status.is_server_error() => {
                tracing::error!(error = %e, "internal error");
                ("internal error".to_owned(), code_of_status(status))
            }
            None => (e.to_string(), code_of_status(status)),
        },
        None => {
            let message = match status {
                StatusCode::NOT_FOUND => "no such resource",
                StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this resource",
                StatusCode::RANGE_NOT_SATISFIABLE => "the requested range is not satisfiable",
                s => s.canonical_reason().unwrap_or("error"),
            };
            (message.to_owned(), code_of_status(status))
        }
    };
    let (req, res) = res.into_parts();
    let body = ErrorBody {
        status: status.as_u16(),
        error: status.canonical_reason().unwrap_or("Error"),
        message,
        path: req.path(),
        code,
    };
    let mut builder = HttpResponse::build(status);
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            builder.append_header((name.clone(), value.clone()));
        }
    }
    let response = builder.json(body);
    ServiceResponse::new(req, response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(e: ApiError, status: u16, code: &str) {
        let what = format!("{e:?}");
        assert_eq!(
            e.class(),
            (StatusCode::from_u16(status).unwrap(), code),
            "{what}"
        );
    }

    #[test]
    fn core_errors_get_their_status_here() {
        // Parameters that are malformed are a 400; files that do not match them a 422.
        check(
            ValidationError::TooLong {
                name: "-s".into(),
                max: 1,
            }
            .into(),
            400,
            "validation_failed",
        );
        check(
            ValidationError::Missing { name: "-f".into() }.into(),
            400,
            "validation_failed",
        );
        check(
            ValidationError::FileNotSent {
                name: "-f".into(),
                file: "a".into(),
            }
            .into(),
            422,
            "file_not_sent",
        );
        check(
            ValidationError::DuplicateFile { file: "a".into() }.into(),
            422,
            "duplicate_file",
        );
        check(
            UploadError::InvalidName {
                name: String::new(),
            }
            .into(),
            400,
            "invalid_file_definition",
        );
        check(
            UploadError::InvalidUiKey.into(),
            400,
            "invalid_file_definition",
        );
        check(UploadError::Changed.into(), 422, "upload_changed");
        check(UploadError::TooManyFiles.into(), 422, "too_many_files");
        check(
            ParseError::new("process id", "x", "a positive integer").into(),
            400,
            "invalid_value",
        );
        check(Denied::Unauthenticated.into(), 401, "unauthorized");
        check(Denied::Forbidden.into(), 403, "forbidden");
        check(Denied::Hidden.into(), 404, "not_found");
    }

    #[test]
    fn store_errors_keep_their_messages() {
        let running = ApiError::from(StoreError::Running(7));
        assert_eq!(running.to_string(), "process 7 is RUNNING; stop it first");
        check(running, 422, "process_running");
        let waited = ApiError::from(StoreError::Depended(7, 9));
        assert_eq!(
            waited.to_string(),
            "process 7 cannot be deleted: process 9 is waiting for it"
        );
        check(waited, 422, "dependency_waiting");
        let full = ApiError::from(StoreError::io(
            "/data/x",
            std::io::Error::from_raw_os_error(28),
        ));
        check(full, 507, "insufficient_storage");
    }

    #[test]
    fn a_full_disk_is_507_and_other_io_errors_500() {
        check(
            std::io::Error::from_raw_os_error(28).into(),
            507,
            "insufficient_storage",
        );
        check(
            std::io::Error::from(std::io::ErrorKind::PermissionDenied).into(),
            500,
            "internal",
        );
    }

    #[test]
    fn bodiless_answers_get_codes() {
        assert_eq!(code_of_status(StatusCode::NOT_FOUND), "no_route");
        assert_eq!(
            code_of_status(StatusCode::METHOD_NOT_ALLOWED),
            "method_not_allowed"
        );
        assert_eq!(
            code_of_status(StatusCode::RANGE_NOT_SATISFIABLE),
            "range_not_satisfiable"
        );
        assert_eq!(code_of_status(StatusCode::BAD_GATEWAY), "internal");
    }
}
