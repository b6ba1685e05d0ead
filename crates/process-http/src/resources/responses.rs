//! Error responses shared by many endpoints, for their OpenAPI annotations: one definition per
//! set instead of the same `(status = 404, ...)` tuples on every handler. An endpoint lists the
//! sets it can answer with, plus tuples for what is particular to it (a tuple given after a set
//! replaces the set's response for that status).

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType};
use utoipa::openapi::RefOr;
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

/// For endpoints that read a JSON body.
#[derive(IntoResponses)]
pub enum JsonBodyErrors {
    #[response(status = 413, description = "The body is over 256 KiB")]
    PayloadTooLarge(ErrorResource),
    #[response(status = 415, description = "The body is not application/json")]
    UnsupportedMediaType(ErrorResource),
}

/// For endpoints that stream a request body to the data directory.
#[derive(IntoResponses)]
pub enum StreamedBodyErrors {
    #[response(status = 408, description = "The body stalled")]
    RequestTimeout(ErrorResource),
    #[response(status = 507, description = "The data directory is full")]
    InsufficientStorage(ErrorResource),
}

/// The bytes of a file, as a download answers with them or an upload sends them
/// (documentation). Any value at all: a file holds whatever its script or its uploader wrote,
/// so no JSON schema applies even when its type happens to be JSON.
pub struct FileContent;

impl utoipa::PartialSchema for FileContent {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::AnyValue)
            .content_media_type("application/octet-stream")
            .description(Some("The file's bytes"))
            .into()
    }
}

impl utoipa::ToSchema for FileContent {}
