//! `/api/system/scripts`: the scripts a caller may start, and launching one.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use process_core::auth::may_start;
use process_core::{Page, PageRequest};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::hal::{PageInfo, PageLinks};
use crate::resources::{ProcessResource, ScriptResource};
use crate::service::launch::launch;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_scripts)
        .service(get_script)
        .service(create_process);
}

#[derive(Deserialize)]
struct Paging {
    page: Option<String>,
    size: Option<String>,
}

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
    Ok(HttpResponse::Ok().json(json!({
        "_embedded": {"scripts": page.items},
        "page": PageInfo::of(&page),
        "_links": PageLinks::of(&page, "/api/system/scripts", ""),
    })))
}

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
        .json(ProcessResource::from_process(&process)))
}
