//! `/api/core/bitstreams/{uuid}`: one process file, its metadata and its content.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use process_core::{OutputRange, Process};

use crate::auth::{Auth, DownloadAuth};
use crate::error::ApiError;
use crate::extract::{BitstreamPath, ProcessAccess};
use crate::hal::BaseUrl;
use crate::resources::pages::ErrorResource;
use crate::resources::process::expiry;
use crate::resources::requests::{AccessParams, ShortLivedTokenParam};
use crate::resources::responses::{BitstreamErrors, FileContent};
use crate::resources::BitstreamResource;
use crate::service::files::Bitstream;
use crate::service::output::{self, OUTPUT_TEXT};
use crate::service::{console, download, files};
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
    base: BaseUrl,
    id: BitstreamPath,
    access: ProcessAccess,
) -> Result<HttpResponse, ApiError> {
    let (bitstream, process) = files::visible(&state, &caller, &access, id.id(&caller)?).await?;
    let file = match bitstream {
        Bitstream::Stored(file) => file,
        Bitstream::Console => console::describe(&state, &process).await?,
    };
    let expiry = expiry(&process, state.config.retention_days);
    let body = BitstreamResource::from_file(&base, &file, expiry, access.carried(&process));
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(get, path = "/api/core/bitstreams/{uuid}/content", tag = "files",
    params(
        ("uuid" = String, Path, description = "The file's UUID"),
        ("Range" = Option<String>, Header, description = "bytes=START-END, bytes=START- or bytes=-SUFFIX"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier download"),
        ("If-Range" = Option<String>, Header, description = "Serve the Range only if this ETag or date still names the file; else the whole file"),
        AccessParams,
        ShortLivedTokenParam,
    ),
    responses(
        (status = 200, description = "The whole file, as an attachment, with the type its name suggests (application/octet-stream when none; a console log: its text so far, always whole)",
            headers(("ETag" = String), ("Last-Modified" = String), ("Accept-Ranges" = String), ("Content-Disposition" = String)),
            content((inline(FileContent) = "application/octet-stream"), (inline(FileContent) = "*/*"))),
        (status = 206, description = "The requested range",
            headers(("Content-Range" = String, description = "bytes START-END/SIZE"), ("ETag" = String)),
            content((inline(FileContent) = "application/octet-stream"), (inline(FileContent) = "*/*"))),
        (status = 304, description = "Not modified"),
        BitstreamErrors,
        (status = 412, description = "If-Match or If-Unmodified-Since does not hold", body = ErrorResource),
        (status = 416, description = "The range is not satisfiable", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/api/core/bitstreams/{uuid}/content")]
async fn get_bitstream_content(
    state: web::Data<AppState>,
    DownloadAuth(caller): DownloadAuth,
    id: BitstreamPath,
    access: ProcessAccess,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (bitstream, process) = files::visible(&state, &caller, &access, id.id(&caller)?).await?;
    let mut res = match bitstream {
        Bitstream::Stored(file) => download::serve(&state, &req, &file).await?,
        Bitstream::Console => console_text(state, &process),
    };
    // Opened in a browser anyway, a script's output runs with no origin and no scripts.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("sandbox"),
    );
    Ok(res)
}

/// The console log as a file: its text as stored so far, whole (no Range: it may still grow,
/// so it has no ETag either).
fn console_text(state: web::Data<AppState>, process: &Process) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, OUTPUT_TEXT))
        .insert_header(download::attachment(&console::name(process)))
        .insert_header((header::ACCEPT_RANGES, "none"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .streaming(output::stored(state, process.id, OutputRange::default()))
}
