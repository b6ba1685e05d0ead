//! `/api/system/scripts`: the scripts a caller may start, and launching one.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::ProcessAccess;
use crate::hal::BaseUrl;
use crate::resources::pages::{ErrorResource, ScriptPage};
use crate::resources::requests::{AccessParams, LaunchForm, Paging};
use crate::resources::responses::{LoginRequired, StreamedBodyErrors};
use crate::resources::{ProcessResource, ScriptResource};
use crate::service::launch::launch;
use crate::service::scripts;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_scripts)
        .service(get_script)
        .service(create_process);
}

#[utoipa::path(get, path = "/api/system/scripts", tag = "scripts", params(Paging),
    responses(
        (status = 200, description = "The scripts the caller may start", body = ScriptPage),
        (status = 400, description = "Bad paging", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/api/system/scripts")]
async fn list_scripts(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = scripts::startable(&state.catalog, &caller, paging.request()?);
    Ok(HttpResponse::Ok().json(ScriptPage::of(&base, &page)))
}

#[utoipa::path(get, path = "/api/system/scripts/{name}", tag = "scripts",
    params(("name" = String, Path, description = "The script's name")),
    responses(
        (status = 200, description = "The script and its parameters", body = ScriptResource),
        (status = 401, description = "Login required to start it", body = ErrorResource),
        (status = 403, description = "The caller may not start it", body = ErrorResource),
        (status = 404, description = "No such script", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/api/system/scripts/{name}")]
async fn get_script(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let script = scripts::get(&state.catalog, &caller, &name)?;
    Ok(HttpResponse::Ok().json(ScriptResource::from_script(&base, script)))
}

#[utoipa::path(post, path = "/api/system/scripts/{name}/processes", tag = "scripts",
    params(("name" = String, Path, description = "The script to start"), AccessParams),
    request_body(content = LaunchForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Accepted; the new process (started anonymously: with its `accessToken`, which its links carry)", body = ProcessResource,
            headers(("Location" = String, description = "The process's absolute URL (started anonymously: with `?access=` and its capability)"))),
        (status = 400, description = "A parameter is missing, unknown or of the wrong type", body = ErrorResource),
        LoginRequired,
        (status = 403, description = "The caller may not start this script", body = ErrorResource),
        (status = 404, description = "No such script", body = ErrorResource),
        (status = 413, description = "Uploads over max_upload_bytes", body = ErrorResource),
        (status = 415, description = "Not multipart/form-data", body = ErrorResource),
        (status = 422, description = "A file parameter names no uploaded file, or two files share a name", body = ErrorResource),
        (status = 503, description = "Shutting down or database unavailable", body = ErrorResource),
        StreamedBodyErrors,
    ),
    security((), ("bearer" = [])))]
#[post("/api/system/scripts/{name}/processes")]
async fn create_process(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    name: web::Path<String>,
    access: ProcessAccess,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let launched = launch(&state, &caller, &access, &name, &req, payload).await?;
    let (process, capability) = (&launched.process, launched.capability.as_deref());
    let retention = state.config.retention_days;
    let mut body = ProcessResource::from_process(&base, process, retention, capability);
    body.access_token = launched.capability.clone();
    let location = base.link_with(&ProcessResource::path(process), capability);
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, location.href()))
        .json(body))
}
