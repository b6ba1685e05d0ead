//! `/api/system/events`: the live stream of process events the caller may see.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::hal::BaseUrl;
use crate::limits::ClientAddr;
use crate::resources::event::EventResource;
use crate::resources::pages::ErrorResource;
use crate::resources::responses::LoginRequired;
use crate::service::events;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_events);
}

#[utoipa::path(get, path = "/api/system/events", tag = "events",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event (its `id`); without it the stream starts with the next change"),
    ),
    responses(
        (status = 200, description = "text/event-stream: one event per change of a process the caller may see (administrators: all), each with `id`, `event` (the type) and `data` (the event as JSON)",
            content((EventResource = "text/event-stream"))),
        (status = 400, description = "Bad Last-Event-ID", body = ErrorResource),
        LoginRequired,
        (status = 429, description = "Too many live feeds of this caller", body = ErrorResource),
    ), security(("bearer" = [])))]
#[get("/api/system/events")]
async fn get_events(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let owner = events::scope(&caller)?;
    let last = req
        .headers()
        .get("Last-Event-ID")
        .map(|v| v.to_str().unwrap_or("?"));
    let after = events::start_after(&state, last).await?;
    let slot = events::slot(&state, &caller, ClientAddr::of_request(&req))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events::feed(state, base, owner, after, slot)))
}
