//! `/api/system/processes/{id}/output`: the console log of a process, as text, as JSON lines,
//! or as a live event stream.

use actix_web::http::header::{self, ContentType};
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{OutputForm, ProcessAccess, ProcessPath};
use crate::limits::ClientAddr;
use crate::resources::pages::ErrorResource;
use crate::resources::requests::{AccessParams, OutputQuery};
use crate::resources::responses::ProcessErrors;
use crate::service::output::{self, Format, LineResource};
use crate::service::processes;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_output);
}

#[utoipa::path(get, path = "/api/system/processes/{id}/output", tag = "processes",
    params(("id" = String, Path, description = "The processId"),
        OutputQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Event stream: resume after this line (its `id`); anything else starts from the first line"),
        AccessParams,
    ),
    responses(
        (status = 200, description = "text/plain: the console log; application/json: its lines; text/event-stream: a live feed (`line` events, then `end`)",
            content(
                (String = "text/plain"),
                (Vec<LineResource> = "application/json"),
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
    form: OutputForm,
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
        OutputForm::Json => HttpResponse::Ok()
            .insert_header(ContentType::json())
            .streaming(output::stored(state, id, range, Format::Json)),
        OutputForm::Text => HttpResponse::Ok()
            .insert_header(ContentType::plaintext())
            .streaming(output::stored(state, id, range, Format::Text)),
    })
}
