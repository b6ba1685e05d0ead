//! The one map from errors to HTTP. Every error response has the JSON shape
//! `{"status", "error", "message", "path"}`; 5xx bodies say nothing of the cause, which is
//! logged instead.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use process_core::{Denied, ParseError, TransitionError, UploadError, ValidationError};
use process_runner::RunnerError;
use process_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
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
}

impl ApiError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // The body is written by `json_errors`, which knows the request path.
        let mut res = HttpResponse::new(self.status_code());
        if matches!(self, ApiError::Unauthorized(_)) {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
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
        }
    }
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        if e.is_unprocessable() {
            ApiError::Unprocessable(e.to_string())
        } else {
            ApiError::BadRequest(e.to_string())
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(e: TransitionError) -> Self {
        ApiError::Unprocessable(e.to_string())
    }
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        if e.is_bad_request() {
            ApiError::BadRequest(e.to_string())
        } else {
            ApiError::Unprocessable(e.to_string())
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Running(id) => {
                ApiError::Unprocessable(format!("process {id} is RUNNING; stop it first"))
            }
            StoreError::Depended(id, waiter) => ApiError::Unprocessable(format!(
                "process {id} cannot be deleted: process {waiter} is waiting for it"
            )),
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
    let message = match res.response().error() {
        Some(e) => match e.as_error::<ApiError>() {
            Some(ApiError::Internal(cause)) => {
                tracing::error!(error = ?cause, "internal error");
                "internal error".to_owned()
            }
            Some(api) => api.to_string(),
            None if status.is_server_error() => {
                tracing::error!(error = %e, "internal error");
                "internal error".to_owned()
            }
            None => e.to_string(),
        },
        None => match status {
            StatusCode::NOT_FOUND => "no such resource".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this resource".to_owned(),
            StatusCode::RANGE_NOT_SATISFIABLE => {
                "the requested range is not satisfiable".to_owned()
            }
            s => s.canonical_reason().unwrap_or("error").to_owned(),
        },
    };
    let (req, res) = res.into_parts();
    let body = ErrorBody {
        status: status.as_u16(),
        error: status.canonical_reason().unwrap_or("Error"),
        message,
        path: req.path(),
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
