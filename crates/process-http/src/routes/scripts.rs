//! `/api/system/scripts`: the scripts a caller may start, and launching one.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use process_core::auth::may_start;
use process_core::{Page, PageRequest};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::hal::{PageInfo, PageLinks, Paging};
use crate::resources::pages::{ErrorResource, ScriptPage};
use crate::resources::{ProcessResource, ScriptResource};
use crate::service::launch::launch;
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
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let request = PageRequest::new(paging.page.as_deref(), paging.size.as_deref())?;
    let startable: Vec<_> = state
        .catalog
        .iter()
        .filter(|s| may_start(&caller, s).is_ok())
        .collect();
    let page = Page {
        total: startable.len() as u64,
        items: startable
            .into_iter()
            .skip(usize::try_from(request.offset()).unwrap_or(usize::MAX))
            .take(request.size() as usize)
            .map(ScriptResource::from_script)
            .collect(),
        request,
    };
    let (info, links) = (
        PageInfo::of(&page),
        PageLinks::of(&page, "/api/system/scripts", ""),
    );
    Ok(HttpResponse::Ok().json(ScriptPage::new(page.items, info, links)))
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
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let script = state
        .catalog
        .get(&name)
        .ok_or_else(|| ApiError::not_found(format!("script {name}")))?;
    may_start(&caller, script)?;
    Ok(HttpResponse::Ok().json(ScriptResource::from_script(script)))
}

/// The multipart form of a launch (documentation only; the handler streams the parts).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LaunchForm {
    /// JSON array of `{"name": "-f", "value": "data.csv"}`.
    properties: Option<String>,
    /// Uploaded files; a file parameter's value names one of them.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    file: Option<Vec<Vec<u8>>>,
    /// RFC 3339: do not start before this time.
    #[schema(rename = "startTime")]
    start_time: Option<String>,
    /// Comma-separated process ids this process waits for.
    #[schema(rename = "dependsOn")]
    depends_on: Option<String>,
    /// `afterok` (default) or `afterany`.
    #[schema(rename = "dependencyType")]
    dependency_type: Option<String>,
    /// Take files from this (LOADED) upload session.
    #[schema(rename = "uploadDefinitionId")]
    upload_definition_id: Option<String>,
}

#[utoipa::path(post, path = "/api/system/scripts/{name}/processes", tag = "scripts",
    params(("name" = String, Path, description = "The script to start")),
    request_body(content = LaunchForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Accepted; the new process", body = ProcessResource,
            headers(("Location" = String, description = "The process's URL"))),
        (status = 400, description = "A parameter is missing, unknown or of the wrong type", body = ErrorResource),
        (status = 401, description = "Login required", body = ErrorResource),
        (status = 403, description = "The caller may not start this script", body = ErrorResource),
        (status = 404, description = "No such script", body = ErrorResource),
        (status = 408, description = "The body stalled", body = ErrorResource),
        (status = 413, description = "Uploads over max_upload_bytes", body = ErrorResource),
        (status = 415, description = "Not multipart/form-data", body = ErrorResource),
        (status = 422, description = "A file parameter names no uploaded file, or two files share a name", body = ErrorResource),
        (status = 503, description = "Shutting down or database unavailable", body = ErrorResource),
        (status = 507, description = "The data directory is full", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[post("/api/system/scripts/{name}/processes")]
async fn create_process(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    name: web::Path<String>,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let process = launch(&state, &caller, &name, &req, payload).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, ProcessResource::href(&process)))
        .json(ProcessResource::from_process(
            &process,
            state.config.retention_days,
        )))
}
