//! `/api/system/processes`: listing, searching, detail, stop, delete, output and files.

use actix_web::http::header::{self, Accept, ContentType, Header};
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use process_core::{OutputRange, Page, PageRequest, Process};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::hal::{Link, PageInfo, PageLinks, Paging};
use crate::resources::pages::{
    BitstreamPage, ErrorResource, FiletypesResource, ProcessPage, SelfLink,
};
use crate::resources::process::expiry;
use crate::resources::{BitstreamResource, ProcessResource};
use crate::service::archive;
use crate::service::output::LineResource;
use crate::service::output::{self, Format};
use crate::service::processes::{self, Listing};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Fixed paths before `{id}`.
    cfg.service(search_by_property)
        .service(search_own)
        .service(list_processes)
        .service(get_process)
        .service(stop_process)
        .service(delete_process)
        .service(get_output)
        .service(list_files)
        .service(list_filetypes)
        .service(list_files_of_type)
        .service(get_archive);
}

type Pairs = web::Query<Vec<(String, String)>>;

/// The query parameters of the listings (documentation; `parameter.<name>` filters are read
/// from the raw pairs).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListParams {
    /// Zero-based page number.
    page: Option<u32>,
    /// Page size, 1 to 100 (default 20).
    size: Option<u32>,
    /// creationTime|startTime|endTime|scriptName, then ,asc or ,desc (default creationTime,desc).
    sort: Option<String>,
    /// Only this script.
    #[param(rename = "scriptName")]
    script_name: Option<String>,
    /// Only this user's processes.
    #[param(rename = "userId")]
    user_id: Option<String>,
    /// SCHEDULED, RUNNING, COMPLETED or FAILED.
    #[param(rename = "processStatus")]
    process_status: Option<String>,
    /// `parameter.<name>=<value>`: only processes run with this parameter value.
    #[param(rename = "parameter.<name>")]
    parameter: Option<String>,
}

/// One page of a listing, as HAL.
async fn list_page(
    state: &AppState,
    caller: &process_core::Caller,
    listing: Listing,
    path: &str,
    pairs: &[(String, String)],
) -> Result<HttpResponse, ApiError> {
    let page = processes::list(state, caller, listing, pairs).await?;
    Ok(page_response(state, &page, path, pairs))
}

fn page_response(
    state: &AppState,
    page: &Page<Process>,
    path: &str,
    pairs: &[(String, String)],
) -> HttpResponse {
    let retention = state.config.retention_days;
    let rest: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "page" && k != "size")
        .cloned()
        .collect();
    let query = serde_urlencoded::to_string(&rest).unwrap_or_default();
    HttpResponse::Ok().json(ProcessPage::new(
        page.items
            .iter()
            .map(|p| ProcessResource::from_process(p, retention))
            .collect(),
        PageInfo::of(page),
        PageLinks::of(page, path, &query),
    ))
}

#[utoipa::path(get, path = "/api/system/processes", tag = "processes", params(ListParams),
    responses(
        (status = 200, description = "Admins: all processes; others: their own", body = ProcessPage),
        (status = 400, description = "Bad paging, sort or filter", body = ErrorResource),
        (status = 401, description = "Login required", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes")]
async fn list_processes(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    q: Pairs,
) -> Result<HttpResponse, ApiError> {
    list_page(&state, &caller, Listing::All, "/api/system/processes", &q).await
}

#[utoipa::path(get, path = "/api/system/processes/search/byProperty", tag = "processes", params(ListParams),
    responses(
        (status = 200, description = "Processes matching the filters (admins only)", body = ProcessPage),
        (status = 400, description = "Bad paging, sort or filter", body = ErrorResource),
        (status = 401, description = "Login required", body = ErrorResource),
        (status = 403, description = "Not an administrator", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/search/byProperty")]
async fn search_by_property(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    q: Pairs,
) -> Result<HttpResponse, ApiError> {
    list_page(
        &state,
        &caller,
        Listing::ByProperty,
        "/api/system/processes/search/byProperty",
        &q,
    )
    .await
}

#[utoipa::path(get, path = "/api/system/processes/search/own", tag = "processes", params(ListParams),
    responses(
        (status = 200, description = "The caller's processes", body = ProcessPage),
        (status = 400, description = "Bad paging, sort or filter", body = ErrorResource),
        (status = 401, description = "Login required", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/search/own")]
async fn search_own(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    q: Pairs,
) -> Result<HttpResponse, ApiError> {
    list_page(
        &state,
        &caller,
        Listing::Own,
        "/api/system/processes/search/own",
        &q,
    )
    .await
}

#[utoipa::path(get, path = "/api/system/processes/{id}", tag = "processes", params(("id" = String, Path, description = "The processId")),
    responses(
        (status = 200, description = "The process", body = ProcessResource),
        (status = 401, description = "Login required", body = ErrorResource), (status = 404, description = "No such process, or not the caller's", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}")]
async fn get_process(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let process = processes::visible(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(ProcessResource::from_process(
        &process,
        state.config.retention_days,
    )))
}

#[utoipa::path(post, path = "/api/system/processes/{id}/stop", tag = "processes", params(("id" = String, Path, description = "The processId")),
    responses(
        (status = 202, description = "Stopping (SIGTERM, then SIGKILL); a scheduled process is failed at once", body = ProcessResource),
        (status = 401, description = "Login required", body = ErrorResource), (status = 404, description = "No such process, or not the caller's", body = ErrorResource),
        (status = 422, description = "The process already finished", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[post("/api/system/processes/{id}/stop")]
async fn stop_process(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let process = processes::stop(&state, &caller, &id).await?;
    Ok(HttpResponse::Accepted().json(ProcessResource::from_process(
        &process,
        state.config.retention_days,
    )))
}

#[utoipa::path(delete, path = "/api/system/processes/{id}", tag = "processes", params(("id" = String, Path, description = "The processId")),
    responses(
        (status = 204, description = "Deleted with its output and files"),
        (status = 401, description = "Login required", body = ErrorResource), (status = 404, description = "No such process, or not the caller's", body = ErrorResource),
        (status = 422, description = "RUNNING, or another process waits for it", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[delete("/api/system/processes/{id}")]
async fn delete_process(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    processes::delete(&state, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutputQuery {
    from_time: Option<String>,
    to_time: Option<String>,
}

fn parse_time(name: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                ApiError::BadRequest(format!("{name} must be an RFC 3339 time, got {v:?}"))
            })
        })
        .transpose()
}

/// What the client accepts most: an event stream, JSON, or (the default) plain text.
enum Wanted {
    Events,
    Json,
    Text,
}

fn negotiate(req: &HttpRequest) -> Wanted {
    let Ok(accept) = Accept::parse(req) else {
        return Wanted::Text;
    };
    for mime in accept.ranked() {
        match (mime.type_().as_str(), mime.subtype().as_str()) {
            ("text", "event-stream") => return Wanted::Events,
            ("application", "json") => return Wanted::Json,
            ("text", "plain" | "*") | ("*", "*") => return Wanted::Text,
            _ => {}
        }
    }
    Wanted::Text
}

#[utoipa::path(get, path = "/api/system/processes/{id}/output", tag = "processes",
    params(("id" = String, Path, description = "The processId"),
        ("fromTime" = Option<String>, Query, description = "RFC 3339: lines read at or after"),
        ("toTime" = Option<String>, Query, description = "RFC 3339: lines read at or before"),
        ("Last-Event-ID" = Option<String>, Header, description = "Event stream: resume after this line"),
    ),
    responses(
        (status = 200, description = "text/plain: the console log; application/json: its lines; text/event-stream: a live feed (`line` events, then `end`)",
            content(
                (String = "text/plain"),
                (Vec<LineResource> = "application/json"),
                (String = "text/event-stream"),
            )),
        (status = 400, description = "Bad fromTime or toTime", body = ErrorResource),
        (status = 401, description = "Login required", body = ErrorResource), (status = 404, description = "No such process, or not the caller's", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/output")]
async fn get_output(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
    q: web::Query<OutputQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let process = processes::visible(&state, &caller, &id).await?;
    let range = OutputRange {
        after_seq: 0,
        from_time: parse_time("fromTime", q.from_time.as_deref())?,
        to_time: parse_time("toTime", q.to_time.as_deref())?,
    };
    Ok(match negotiate(&req) {
        Wanted::Events => {
            let after = req
                .headers()
                .get("Last-Event-ID")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(0)
                .max(0);
            HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, "text/event-stream"))
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .insert_header(("X-Accel-Buffering", "no"))
                .streaming(output::follow(state.clone(), process.id, after))
        }
        Wanted::Json => HttpResponse::Ok()
            .insert_header(ContentType::json())
            .streaming(output::stored(
                state.clone(),
                process.id,
                range,
                Format::Json,
            )),
        Wanted::Text => HttpResponse::Ok()
            .insert_header(ContentType::plaintext())
            .streaming(output::stored(
                state.clone(),
                process.id,
                range,
                Format::Text,
            )),
    })
}

async fn files_page(
    state: &AppState,
    caller: &process_core::Caller,
    id: &str,
    filetype: Option<String>,
    paging: &Paging,
) -> Result<HttpResponse, ApiError> {
    let process = processes::visible(state, caller, id).await?;
    let request = PageRequest::new(paging.page.as_deref(), paging.size.as_deref())?;
    let pid = process.id;
    let expiry = expiry(&process, state.config.retention_days);
    let path = match &filetype {
        Some(t) => format!("{}/files/{t}", ProcessResource::href(&process)),
        None => format!("{}/files", ProcessResource::href(&process)),
    };
    let of_type = filetype.clone();
    let page = state
        .db(move |s| s.list_files(pid, filetype.as_deref(), request))
        .await?;
    // As in DSpace: 404 when the process has no file of the type asked for.
    if let (Some(t), 0) = (of_type, page.total) {
        return Err(ApiError::NotFound(format!(
            "process {pid} has no files of type {t}"
        )));
    }
    Ok(HttpResponse::Ok().json(BitstreamPage::new(
        page.items
            .iter()
            .map(|f| BitstreamResource::from_file(f, expiry))
            .collect(),
        PageInfo::of(&page),
        PageLinks::of(&page, &path, ""),
    )))
}

#[utoipa::path(get, path = "/api/system/processes/{id}/files", tag = "files", params(("id" = String, Path, description = "The processId"), Paging),
    responses(
        (status = 200, description = "The process's files as bitstreams", body = BitstreamPage),
        (status = 401, description = "Login required", body = ErrorResource), (status = 404, description = "No such process, or not the caller's", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/files")]
async fn list_files(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    files_page(&state, &caller, &id, None, &paging).await
}

#[utoipa::path(get, path = "/api/system/processes/{id}/files/{filetype}", tag = "files",
    params(("id" = String, Path, description = "The processId"), ("filetype" = String, Path, description = "inputFile, outputFile or a type the script chose"), Paging),
    responses(
        (status = 200, description = "The process's files of this type", body = BitstreamPage),
        (status = 401, description = "Login required", body = ErrorResource),
        (status = 404, description = "No such process, or no file of this type", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/files/{filetype}")]
async fn list_files_of_type(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    path: web::Path<(String, String)>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (id, filetype) = path.into_inner();
    files_page(&state, &caller, &id, Some(filetype), &paging).await
}

#[utoipa::path(get, path = "/api/system/processes/{id}/filetypes", tag = "files", params(("id" = String, Path, description = "The processId")),
    responses(
        (status = 200, description = "The filetypes of the process's files", body = FiletypesResource),
        (status = 401, description = "Login required", body = ErrorResource), (status = 404, description = "No such process, or not the caller's", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/filetypes")]
async fn list_filetypes(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let process = processes::visible(&state, &caller, &id).await?;
    let pid = process.id;
    let values = state.db(move |s| s.filetypes(pid)).await?;
    Ok(HttpResponse::Ok().json(FiletypesResource {
        id: "filetypes",
        values,
        kind: "filetypes",
        links: SelfLink {
            this: Link::new(format!("{}/filetypes", ProcessResource::href(&process))),
        },
    }))
}

#[utoipa::path(get, path = "/api/system/processes/{id}/archive", tag = "files", params(("id" = String, Path, description = "The processId")),
    responses(
        (status = 200, description = "Every file of the process in one zip, streamed", content_type = "application/zip", body = Vec<u8>),
        (status = 401, description = "Login required", body = ErrorResource), (status = 404, description = "No such process, or not the caller's", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/archive")]
async fn get_archive(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let process = processes::visible(&state, &caller, &id).await?;
    let pid = process.id;
    let files = state.db(move |s| s.files(pid)).await?;
    let rx = archive::stream(state.store.layout().clone(), files);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/zip"))
        .insert_header(crate::service::download::attachment(&format!(
            "process-{pid}.zip"
        )))
        .streaming(body))
}
