//! `/api/system/processes/{id}/output`: the console log of a process, as text, as a DSpace
//! bitstream (for clients that prefer JSON), or as a live event stream; and
//! `/output/lines`, its timestamped lines page by page.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{OutputForm, ProcessAccess, ProcessPath};
use crate::hal::BaseUrl;
use crate::limits::ClientAddr;
use crate::resources::output::{LinesAsked, OutputLinesResource};
use crate::resources::pages::ErrorResource;
use crate::resources::process::expiry;
use crate::resources::requests::{AccessParams, OutputLinesQuery, OutputQuery};
use crate::resources::responses::ProcessErrors;
use crate::resources::BitstreamResource;
use crate::service::output::{self, OUTPUT_TEXT};
use crate::service::{console, processes};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_output).service(get_output_lines);
}

#[utoipa::path(get, path = "/api/system/processes/{id}/output", tag = "processes",
    params(("id" = String, Path, description = "The processId"),
        OutputQuery,
        ("Accept" = Option<String>, Header, description = "text/plain (or none, or */*): the text; preferring application/json or application/hal+json: the log as a bitstream; text/event-stream: a live feed"),
        ("Last-Event-ID" = Option<String>, Header, description = "Event stream: resume after this line (its `id`); anything else starts from the first line"),
        AccessParams,
    ),
    responses(
        (status = 200, description = "text/plain: the console log; application/json: the console log as a bitstream of filetype script_output (its content link gives the text); text/event-stream: a live feed (`line` events, then `end`)",
            content(
                (String = "text/plain"),
                (BitstreamResource = "application/json"),
                (String = "text/event-stream"),
            )),
        (status = 400, description = "Bad fromTime or toTime", body = ErrorResource),
        ProcessErrors,
        (status = 429, description = "Event stream: too many live followers of this process or of this caller", body = ErrorResource),
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/output")]
async fn get_output(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: ProcessPath,
    access: ProcessAccess,
    q: web::Query<OutputQuery>,
    // What the client accepts, and where its links point.
    (form, base): (OutputForm, BaseUrl),
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // Visibility first: a hidden process answers 404 whatever the query says.
    let process = processes::visible(&state, &caller, &access, id.id(&caller)?).await?;
    let range = q.range()?;
    let id = process.id;
    Ok(match form {
        OutputForm::Events { after } => {
            let addr = ClientAddr::of_request(&req);
            let slots = output::follow_slots(&state, &caller, addr, id)?;
            HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, "text/event-stream"))
                .insert_header((header::CACHE_CONTROL, "no-cache"))
                .insert_header(("X-Accel-Buffering", "no"))
                .streaming(output::follow(state, id, after, slots))
        }
        OutputForm::Json => {
            let file = console::describe(&state, &process).await?;
            let expiry = expiry(&process, state.config.retention_days);
            let body = BitstreamResource::from_file(&base, &file, expiry, access.carried(&process));
            HttpResponse::Ok().json(body)
        }
        OutputForm::Text => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, OUTPUT_TEXT))
            .streaming(output::stored(state, id, range)),
    })
}

#[utoipa::path(get, path = "/api/system/processes/{id}/output/lines", tag = "processes",
    params(("id" = String, Path, description = "The processId"), OutputLinesQuery, AccessParams),
    responses(
        (status = 200, description = "Up to `size` lines after `after`; follow `_links.next` until `complete`", body = OutputLinesResource),
        (status = 400, description = "Bad after, size, fromTime or toTime", body = ErrorResource),
        ProcessErrors,
    ), security((), ("bearer" = [])))]
#[get("/api/system/processes/{id}/output/lines")]
async fn get_output_lines(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: ProcessPath,
    access: ProcessAccess,
    q: web::Query<OutputLinesQuery>,
    base: BaseUrl,
) -> Result<HttpResponse, ApiError> {
    let process = processes::visible(&state, &caller, &access, id.id(&caller)?).await?;
    let (range, size) = q.range()?;
    let (lines, complete) = output::lines(&state, &process, range, size).await?;
    let asked = LinesAsked {
        after: range.after_seq,
        size,
        from_time: q.from_time.as_deref(),
        to_time: q.to_time.as_deref(),
        access: access.carried(&process),
    };
    let body = OutputLinesResource::of(&base, &process, lines, complete, &asked);
    Ok(HttpResponse::Ok().json(body))
}
