//! `/api/core/bitstreams/{uuid}`: one process file, its metadata and its content.

use actix_web::{get, web, HttpRequest, HttpResponse};
use process_core::auth::missing;
use process_core::{FileId, ProcessFile};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::resources::pages::ErrorResource;
use crate::resources::process::expiry;
use crate::resources::BitstreamResource;
use crate::service::{download, processes};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_bitstream).service(get_bitstream_content);
}

/// The file and its process, if the caller may see the process.
async fn visible_file(
    state: &AppState,
    caller: &process_core::Caller,
    id: &str,
) -> Result<(ProcessFile, process_core::Process), ApiError> {
    let Ok(id) = id.parse::<FileId>() else {
        return Err(missing(caller).into());
    };
    let file = state
        .db(move |s| s.get_file(id))
        .await?
        .ok_or_else(|| ApiError::from(missing(caller)))?;
    let process = processes::visible(state, caller, &file.process_id.to_string()).await?;
    Ok((file, process))
}

#[utoipa::path(get, path = "/api/core/bitstreams/{uuid}", tag = "files",
    params(("uuid" = String, Path, description = "The file's UUID")),
    responses(
        (status = 200, description = "The file's metadata", body = BitstreamResource),
        (status = 401, description = "Login required", body = ErrorResource),
        (status = 404, description = "No such file, or not yours", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/api/core/bitstreams/{uuid}")]
async fn get_bitstream(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (file, process) = visible_file(&state, &caller, &id).await?;
    let expiry = expiry(&process, state.config.retention_days);
    Ok(HttpResponse::Ok().json(BitstreamResource::from_file(&file, expiry)))
}

#[utoipa::path(get, path = "/api/core/bitstreams/{uuid}/content", tag = "files",
    params(
        ("uuid" = String, Path, description = "The file's UUID"),
        ("Range" = Option<String>, Header, description = "bytes=START-END, bytes=START- or bytes=-SUFFIX"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
    ),
    responses(
        (status = 200, description = "The whole file, as an attachment", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The requested range", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such file, or not yours", body = ErrorResource),
        (status = 416, description = "The range is not satisfiable", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/api/core/bitstreams/{uuid}/content")]
async fn get_bitstream_content(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (file, _) = visible_file(&state, &caller, &id).await?;
    download::serve(&state, &req, &file).await
}
