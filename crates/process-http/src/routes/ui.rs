//! The web UI: one page and its script and style, embedded in the binary, served under `/ui/`
//! (`/` leads there). The page uses the same API as every other client, with the same
//! authorization; it is not part of the API document.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};

use crate::hal::BaseUrl;

const INDEX: &str = include_str!("../../ui/index.html");
const SCRIPT: &str = include_str!("../../ui/app.js");
const STYLE: &str = include_str!("../../ui/app.css");

/// Scripts and styles from this origin only, nothing inline, no frames, no plugins: a value
/// that slipped into the page as markup could not run.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_home)
        .service(get_ui_bare)
        .service(get_ui)
        .service(get_script)
        .service(get_style);
}

/// To the UI under the service's base, so it also works behind a proxy's path prefix.
fn redirect_to_ui(base: &BaseUrl) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, base.href("/ui/")))
        .finish()
}

#[get("/")]
async fn get_home(base: BaseUrl) -> HttpResponse {
    redirect_to_ui(&base)
}

#[get("/ui")]
async fn get_ui_bare(base: BaseUrl) -> HttpResponse {
    redirect_to_ui(&base)
}

#[get("/ui/")]
async fn get_ui() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX)
}

#[get("/ui/app.js")]
async fn get_script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

#[get("/ui/app.css")]
async fn get_style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header(("Referrer-Policy", "no-referrer"))
        // Revalidated each time, so a new version of processd is picked up at once.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}
