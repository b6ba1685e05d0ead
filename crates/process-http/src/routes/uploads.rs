//! `/api/system/uploadDefinitions`: upload sessions after FOLIO's data-import API — create
//! one with a list of file names, send each file's bytes, add and delete files, and name it in
//! a launch (`uploadDefinitionId`).

use actix_web::http::header;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::hal::BaseUrl;
use crate::resources::pages::{ErrorResource, UploadDefinitionPage};
use crate::resources::requests::{DefinitionBody, FileDefinitionBody, Paging};
use crate::resources::responses::{
    FileContent, JsonBodyErrors, LoginRequired, StreamedBodyErrors, UploadErrors,
};
use crate::resources::upload::UploadDefinitionResource;
use crate::service::uploads;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_upload_definitions)
        .service(create_upload_definition)
        .service(get_upload_definition)
        .service(update_upload_definition)
        .service(delete_upload_definition)
        .service(add_file_definition)
        .service(delete_file_definition)
        .service(upload_file);
}

fn ok(base: &BaseUrl, def: &process_core::UploadDefinition) -> HttpResponse {
    HttpResponse::Ok().json(UploadDefinitionResource::from_definition(base, def))
}

#[utoipa::path(get, path = "/api/system/uploadDefinitions", tag = "uploads", params(Paging),
    responses(
        (status = 200, description = "The caller's upload definitions (admins: all), newest first", body = UploadDefinitionPage),
        (status = 400, description = "Bad paging", body = ErrorResource),
        LoginRequired,
    ), security(("bearer" = [])))]
#[get("/api/system/uploadDefinitions")]
async fn list_upload_definitions(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = uploads::list(&state, &caller, &paging).await?;
    Ok(HttpResponse::Ok().json(UploadDefinitionPage::of(&base, &page)))
}

#[utoipa::path(post, path = "/api/system/uploadDefinitions", tag = "uploads",
    request_body(content = DefinitionBody, description = "The names of the files to upload"),
    responses(
        (status = 201, description = "Created", body = UploadDefinitionResource, headers(("Location" = String, description = "Its absolute URL"))),
        (status = 400, description = "Bad body or file names", body = ErrorResource),
        JsonBodyErrors,
        LoginRequired,
    ), security(("bearer" = [])))]
#[post("/api/system/uploadDefinitions")]
async fn create_upload_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let def = uploads::create(&state, &caller, &req, payload).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            base.href(&UploadDefinitionResource::path(&def)),
        ))
        .json(UploadDefinitionResource::from_definition(&base, &def)))
}

#[utoipa::path(get, path = "/api/system/uploadDefinitions/{id}", tag = "uploads", params(("id" = String, Path, description = "The upload definition's UUID")),
    responses(
        (status = 200, description = "The upload definition", body = UploadDefinitionResource),
        UploadErrors,
    ), security(("bearer" = [])))]
#[get("/api/system/uploadDefinitions/{id}")]
async fn get_upload_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&base, &uploads::visible(&state, &caller, &id).await?))
}

#[utoipa::path(put, path = "/api/system/uploadDefinitions/{id}", tag = "uploads", params(("id" = String, Path, description = "The upload definition's UUID")),
    request_body(content = DefinitionBody, description = "The file list: entries with an id are kept or renamed, new ones added, missing ones deleted"),
    responses(
        (status = 200, description = "Updated", body = UploadDefinitionResource),
        (status = 400, description = "Bad body", body = ErrorResource),
        JsonBodyErrors,
        UploadErrors,
        (status = 422, description = "COMPLETED, or a status change was asked for", body = ErrorResource),
    ), security(("bearer" = [])))]
#[put("/api/system/uploadDefinitions/{id}")]
async fn update_upload_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(
        &base,
        &uploads::update(&state, &caller, &id, &req, payload).await?,
    ))
}

#[utoipa::path(delete, path = "/api/system/uploadDefinitions/{id}", tag = "uploads", params(("id" = String, Path, description = "The upload definition's UUID")),
    responses(
        (status = 204, description = "Deleted with its bytes"),
        UploadErrors,
    ), security(("bearer" = [])))]
#[delete("/api/system/uploadDefinitions/{id}")]
async fn delete_upload_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    uploads::delete(&state, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/system/uploadDefinitions/{id}/files", tag = "uploads", params(("id" = String, Path, description = "The upload definition's UUID")),
    request_body(content = FileDefinitionBody, description = "A file to add"),
    responses(
        (status = 201, description = "Added; the updated definition", body = UploadDefinitionResource, headers(("Location" = String, description = "The new file's absolute URL"))),
        (status = 400, description = "Bad body", body = ErrorResource),
        JsonBodyErrors,
        UploadErrors,
        (status = 422, description = "COMPLETED", body = ErrorResource),
    ), security(("bearer" = [])))]
#[post("/api/system/uploadDefinitions/{id}/files")]
async fn add_file_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (def, file) = uploads::add_file(&state, &caller, &id, &req, payload).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            base.href(&format!(
                "{}/files/{file}",
                UploadDefinitionResource::path(&def)
            )),
        ))
        .json(UploadDefinitionResource::from_definition(&base, &def)))
}

#[utoipa::path(delete, path = "/api/system/uploadDefinitions/{id}/files/{file}", tag = "uploads", params(("id" = String, Path, description = "The upload definition's UUID"), ("file" = String, Path, description = "The file definition's UUID")),
    responses(
        (status = 204, description = "Removed with its bytes"),
        UploadErrors,
        (status = 422, description = "COMPLETED", body = ErrorResource),
    ), security(("bearer" = [])))]
#[delete("/api/system/uploadDefinitions/{id}/files/{file}")]
async fn delete_file_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, file) = path.into_inner();
    uploads::delete_file(&state, &caller, &id, &file).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/system/uploadDefinitions/{id}/files/{file}", tag = "uploads", params(("id" = String, Path, description = "The upload definition's UUID"), ("file" = String, Path, description = "The file definition's UUID")),
    request_body(content = inline(FileContent), content_type = "application/octet-stream", description = "The file's bytes, streamed"),
    responses(
        (status = 200, description = "Stored; the updated definition", body = UploadDefinitionResource),
        UploadErrors,
        (status = 413, description = "Over max_upload_bytes", body = ErrorResource),
        (status = 415, description = "Not application/octet-stream", body = ErrorResource),
        (status = 422, description = "Already uploaded or being uploaded, or COMPLETED", body = ErrorResource),
        StreamedBodyErrors,
    ), security(("bearer" = [])))]
#[post("/api/system/uploadDefinitions/{id}/files/{file}")]
async fn upload_file(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (id, file) = path.into_inner();
    Ok(ok(
        &base,
        &uploads::upload_file(&state, &caller, &id, &file, &req, payload).await?,
    ))
}
