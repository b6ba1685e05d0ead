//! `/api/core/bitstreams/{uuid}`: one process file, its metadata and its content.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{BitstreamPath, ProcessAccess};
use crate::resources::pages::ErrorResource;
use crate::resources::process::expiry;
use crate::resources::requests::AccessParams;
use crate::resources::responses::{BitstreamErrors, FileContent};
use crate::resources::BitstreamResource;
use crate::service::{download, files};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_bitstream).service(get_bitstream_content);
}

#[utoipa::path(get, path = "/api/core/bitstreams/{uuid}", tag = "files",
    params(("uuid" = String, Path, description = "The file's UUID"), AccessParams),
    responses(
        (status = 200, description = "The file's metadata", body = BitstreamResource),
        BitstreamErrors,
    ),
    security((), ("bearer" = [])))]
#[get("/api/core/bitstreams/{uuid}")]
async fn get_bitstream(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: BitstreamPath,
    access: ProcessAccess,
) -> Result<HttpResponse, ApiError> {
    let (file, process) = files::visible(&state, &caller, &access, id.id(&caller)?).await?;
    let expiry = expiry(&process, state.config.retention_days);
    let body = BitstreamResource::from_file(&file, expiry, access.carried(&process));
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(get, path = "/api/core/bitstreams/{uuid}/content", tag = "files",
    params(
        ("uuid" = String, Path, description = "The file's UUID"),
        ("Range" = Option<String>, Header, description = "bytes=START-END, bytes=START- or bytes=-SUFFIX"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
        ("If-Range" = Option<String>, Header, description = "Serve the Range only if the file still has this ETag (or Last-Modified date)"),
        AccessParams,
    ),
    responses(
        (status = 200, description = "The whole file, as an attachment, with the type its name suggests (application/octet-stream when none)",
            headers(("ETag" = String), ("Last-Modified" = String), ("Accept-Ranges" = String), ("Content-Disposition" = String)),
            content((inline(FileContent) = "application/octet-stream"), (inline(FileContent) = "*/*"))),
        (status = 206, description = "The requested range",
            headers(("Content-Range" = String, description = "bytes START-END/SIZE"), ("ETag" = String)),
            content((inline(FileContent) = "application/octet-stream"), (inline(FileContent) = "*/*"))),
        (status = 304, description = "Not modified"),
        BitstreamErrors,
        (status = 416, description = "The range is not satisfiable", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/api/core/bitstreams/{uuid}/content")]
async fn get_bitstream_content(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: BitstreamPath,
    access: ProcessAccess,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (file, _) = files::visible(&state, &caller, &access, id.id(&caller)?).await?;
    let mut res = download::serve(&state, &req, &file).await?;
    // Opened in a browser anyway, a script's output runs with no origin and no scripts.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("sandbox"),
    );
    Ok(res)
}
