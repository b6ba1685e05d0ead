//! Error responses shared by many endpoints, for their OpenAPI annotations: one definition per
//! set instead of the same `(status = 404, ...)` tuples on every handler. An endpoint lists the
//! sets it can answer with, plus tuples for what is particular to it (a tuple given after a set
//! replaces the set's response for that status).

use utoipa::IntoResponses;

use crate::resources::pages::ErrorResource;

/// For endpoints that need a login.
#[derive(IntoResponses)]
pub enum LoginRequired {
    #[response(status = 401, description = "Login required")]
    Unauthorized(ErrorResource),
}

/// For the process listings.
#[derive(IntoResponses)]
pub enum ListErrors {
    #[response(status = 400, description = "Bad paging, sort or filter")]
    BadRequest(ErrorResource),
    #[response(status = 401, description = "Login required")]
    Unauthorized(ErrorResource),
}

/// For a process and everything under it: someone else's process answers like a missing one.
#[derive(IntoResponses)]
pub enum ProcessErrors {
    #[response(status = 401, description = "Login required")]
    Unauthorized(ErrorResource),
    #[response(status = 404, description = "No such process, or not the caller's")]
    NotFound(ErrorResource),
}

/// For a bitstream: as visible as its process.
#[derive(IntoResponses)]
pub enum BitstreamErrors {
    #[response(status = 401, description = "Login required")]
    Unauthorized(ErrorResource),
    #[response(status = 404, description = "No such file, or not yours")]
    NotFound(ErrorResource),
}

/// For an upload session and its files.
#[derive(IntoResponses)]
pub enum UploadErrors {
    #[response(status = 401, description = "Login required")]
    Unauthorized(ErrorResource),
    #[response(
        status = 404,
        description = "No such upload definition, or not the caller's"
    )]
    NotFound(ErrorResource),
}

/// For endpoints that stream a request body to the data directory.
#[derive(IntoResponses)]
pub enum StreamedBodyErrors {
    #[response(status = 408, description = "The body stalled")]
    RequestTimeout(ErrorResource),
    #[response(status = 507, description = "The data directory is full")]
    InsufficientStorage(ErrorResource),
}
