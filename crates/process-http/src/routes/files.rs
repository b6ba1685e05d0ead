//! `/api/system/processes/{id}/files`, `/files/{filetype}`, `/filetypes` and `/archive`: the
//! files of a process, listed as DSpace bitstreams or zipped.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::auth::{Auth, DownloadAuth};
use crate::error::ApiError;
use crate::extract::{ProcessAccess, ProcessPath};
use crate::hal::BaseUrl;
use crate::limits::ClientAddr;
use crate::resources::pages::{BitstreamPage, ErrorResource, FiletypesResource};
use crate::resources::requests::{AccessParams, FiletypePath, Paging, ShortLivedTokenParam};
use crate::resources::responses::{FileContent, ProcessErrors};
use crate::service::download::attachment;
use crate::service::files;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_files)
        .service(list_filetypes)
        .service(list_files_of_type)
        .service(get_archive);
}

#[utoipa::path(get, path = "/api/system/processes/{id}/files", tag = "files", params(("id" = String, Path, description = "The processId"), Paging, AccessParams),
    responses(
        (status = 200, description = "The process's files as bitstreams", body = BitstreamPage),
        (status = 400, description = "Bad paging", body = ErrorResource),
        ProcessErrors,
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/files")]
async fn list_files(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: ProcessPath,
    access: ProcessAccess,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let id = id.id(&caller)?;
    let (process, page) = files::list(&state, &caller, &access, id, None, &paging).await?;
    let (retention, carried) = (state.config.retention_days, access.carried(&process));
    let body = BitstreamPage::of(&base, &process, None, &page, retention, carried);
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(get, path = "/api/system/processes/{id}/files/{filetype}", tag = "files",
    params(("id" = String, Path, description = "The processId"), ("filetype" = String, Path, description = "inputFile, outputFile or a type the script chose"), Paging, AccessParams),
    responses(
        (status = 200, description = "The process's files of this type", body = BitstreamPage),
        (status = 400, description = "Bad paging", body = ErrorResource),
        ProcessErrors,
        (status = 404, description = "No such process, or no file of this type", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/files/{filetype}")]
async fn list_files_of_type(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: ProcessPath,
    path: web::Path<FiletypePath>,
    access: ProcessAccess,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (id, filetype) = (id.id(&caller)?, path.into_inner().filetype);
    let of_type = Some(filetype.clone());
    let (process, page) = files::list(&state, &caller, &access, id, of_type, &paging).await?;
    let (retention, carried) = (state.config.retention_days, access.carried(&process));
    let body = BitstreamPage::of(&base, &process, Some(&filetype), &page, retention, carried);
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(get, path = "/api/system/processes/{id}/filetypes", tag = "files", params(("id" = String, Path, description = "The processId"), AccessParams),
    responses(
        (status = 200, description = "The filetypes of the process's files", body = FiletypesResource),
        ProcessErrors,
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/filetypes")]
async fn list_filetypes(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: ProcessPath,
    access: ProcessAccess,
) -> Result<HttpResponse, ApiError> {
    let (process, values) = files::filetypes(&state, &caller, &access, id.id(&caller)?).await?;
    let body = FiletypesResource::of(&base, &process, values, access.carried(&process));
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(get, path = "/api/system/processes/{id}/archive", tag = "files", params(("id" = String, Path, description = "The processId"), AccessParams, ShortLivedTokenParam),
    responses(
        (status = 200, description = "Every file of the process in one zip, streamed", content_type = "application/zip", body = inline(FileContent)),
        ProcessErrors,
        (status = 429, description = "Too many archives being written for this caller or overall; see Retry-After", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/archive")]
async fn get_archive(
    state: web::Data<AppState>,
    DownloadAuth(caller): DownloadAuth,
    id: ProcessPath,
    access: ProcessAccess,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = id.id(&caller)?;
    let addr = ClientAddr::of_request(&req);
    let body = files::archive(&state, &caller, &access, addr, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/zip"))
        .insert_header(attachment(&format!("process-{id}.zip")))
        .streaming(body))
}
