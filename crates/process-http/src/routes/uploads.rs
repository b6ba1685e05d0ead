//! `/api/system/uploadDefinitions`: upload sessions after FOLIO's data-import API — create
//! one with a list of file names, send each file's bytes, add and delete files, and name it in
//! a launch (`uploadDefinitionId`).

use actix_web::http::header;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::hal::{PageInfo, PageLinks};
use crate::resources::upload::{UploadDefinitionResource, UPLOADS_PATH};
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

#[derive(Deserialize)]
struct Paging {
    page: Option<String>,
    size: Option<String>,
}

fn ok(def: &process_core::UploadDefinition) -> HttpResponse {
    HttpResponse::Ok().json(UploadDefinitionResource::from_definition(def))
}

#[get("/api/system/uploadDefinitions")]
async fn list_upload_definitions(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = uploads::list(
        &state,
        &caller,
        paging.page.as_deref(),
        paging.size.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "_embedded": {
            "uploadDefinitions": page.items.iter().map(UploadDefinitionResource::from_definition).collect::<Vec<_>>()
        },
        "page": PageInfo::of(&page),
        "_links": PageLinks::of(&page, UPLOADS_PATH, ""),
    })))
}

#[post("/api/system/uploadDefinitions")]
async fn create_upload_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let def = uploads::create(&state, &caller, &req, payload).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, UploadDefinitionResource::href(&def)))
        .json(UploadDefinitionResource::from_definition(&def)))
}

#[get("/api/system/uploadDefinitions/{id}")]
async fn get_upload_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(&uploads::visible(&state, &caller, &id).await?))
}

#[put("/api/system/uploadDefinitions/{id}")]
async fn update_upload_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(
        &uploads::update(&state, &caller, &id, &req, payload).await?
    ))
}

#[delete("/api/system/uploadDefinitions/{id}")]
async fn delete_upload_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    uploads::delete(&state, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[post("/api/system/uploadDefinitions/{id}/files")]
async fn add_file_definition(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (def, file) = uploads::add_file(&state, &caller, &id, &req, payload).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("{}/files/{file}", UploadDefinitionResource::href(&def)),
        ))
        .json(UploadDefinitionResource::from_definition(&def)))
}

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

#[post("/api/system/uploadDefinitions/{id}/files/{file}")]
async fn upload_file(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (id, file) = path.into_inner();
    Ok(ok(&uploads::upload_file(
        &state, &caller, &id, &file, &req, payload,
    )
    .await?))
}
