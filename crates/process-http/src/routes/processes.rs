//! `/api/system/processes`: listing, searching, detail, stop and delete. (A process's output
//! is `routes::output`, its files `routes::files`.)

use actix_web::{delete, get, post, web, HttpResponse};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ProcessAccess, ProcessPath};
use crate::hal::BaseUrl;
use crate::resources::pages::{ErrorResource, ProcessPage};
use crate::resources::requests::{AccessParams, ListParams, ListQuery};
use crate::resources::responses::{ListErrors, ProcessErrors};
use crate::resources::ProcessResource;
use crate::service::processes::{self, Listing};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Fixed paths before `{id}`.
    cfg.service(search_by_property)
        .service(search_own)
        .service(list_processes)
        .service(get_process)
        .service(stop_process)
        .service(delete_process);
}

/// One page of a listing, as HAL.
async fn list_page(
    state: &AppState,
    (auth, base): (Auth, BaseUrl),
    listing: Listing,
    path: &str,
    q: ListQuery,
) -> Result<HttpResponse, ApiError> {
    let page = processes::list(state, &auth.0, listing, &q).await?;
    let retention = state.config.retention_days;
    Ok(HttpResponse::Ok().json(ProcessPage::of(&base, &page, retention, path, &q)))
}

#[utoipa::path(get, path = "/api/system/processes", tag = "processes", params(ListParams),
    responses(
        (status = 200, description = "Admins: all processes; others: their own", body = ProcessPage),
        ListErrors,
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes")]
async fn list_processes(
    state: web::Data<AppState>,
    auth: Auth,
    base: BaseUrl,
    q: ListQuery,
) -> Result<HttpResponse, ApiError> {
    list_page(
        &state,
        (auth, base),
        Listing::All,
        "/api/system/processes",
        q,
    )
    .await
}

#[utoipa::path(get, path = "/api/system/processes/search/byProperty", tag = "processes", params(ListParams),
    responses(
        (status = 200, description = "Processes matching the filters (admins only)", body = ProcessPage),
        ListErrors,
        (status = 403, description = "Not an administrator", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/search/byProperty")]
async fn search_by_property(
    state: web::Data<AppState>,
    auth: Auth,
    base: BaseUrl,
    q: ListQuery,
) -> Result<HttpResponse, ApiError> {
    let path = "/api/system/processes/search/byProperty";
    list_page(&state, (auth, base), Listing::ByProperty, path, q).await
}

#[utoipa::path(get, path = "/api/system/processes/search/own", tag = "processes", params(ListParams),
    responses(
        (status = 200, description = "The caller's processes", body = ProcessPage),
        ListErrors,
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/search/own")]
async fn search_own(
    state: web::Data<AppState>,
    auth: Auth,
    base: BaseUrl,
    q: ListQuery,
) -> Result<HttpResponse, ApiError> {
    let path = "/api/system/processes/search/own";
    list_page(&state, (auth, base), Listing::Own, path, q).await
}

#[utoipa::path(get, path = "/api/system/processes/{id}", tag = "processes", params(("id" = String, Path, description = "The processId"), AccessParams),
    responses(
        (status = 200, description = "The process", body = ProcessResource),
        ProcessErrors,
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}")]
async fn get_process(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: ProcessPath,
    access: ProcessAccess,
) -> Result<HttpResponse, ApiError> {
    let process = processes::visible(&state, &caller, &access, id.id(&caller)?).await?;
    let (retention, carried) = (state.config.retention_days, access.carried(&process));
    let body = ProcessResource::from_process(&base, &process, retention, carried);
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(post, path = "/api/system/processes/{id}/stop", tag = "processes", params(("id" = String, Path, description = "The processId"), AccessParams),
    responses(
        (status = 202, description = "Stopping (SIGTERM, then SIGKILL); a scheduled process is failed at once", body = ProcessResource),
        ProcessErrors,
        (status = 422, description = "The process already finished", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[post("/api/system/processes/{id}/stop")]
async fn stop_process(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: ProcessPath,
    access: ProcessAccess,
) -> Result<HttpResponse, ApiError> {
    let process = processes::stop(&state, &caller, &access, id.id(&caller)?).await?;
    let (retention, carried) = (state.config.retention_days, access.carried(&process));
    let body = ProcessResource::from_process(&base, &process, retention, carried);
    Ok(HttpResponse::Accepted().json(body))
}

#[utoipa::path(delete, path = "/api/system/processes/{id}", tag = "processes", params(("id" = String, Path, description = "The processId"), AccessParams),
    responses(
        (status = 204, description = "Deleted with its output and files"),
        ProcessErrors,
        (status = 422, description = "RUNNING, or another process waits for it", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[delete("/api/system/processes/{id}")]
async fn delete_process(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: ProcessPath,
    access: ProcessAccess,
) -> Result<HttpResponse, ApiError> {
    processes::delete(&state, &caller, &access, id.id(&caller)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
