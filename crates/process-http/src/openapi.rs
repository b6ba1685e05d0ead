//! The OpenAPI 3.1 document, generated from the handlers' annotations and the resource types
//! they serialize, so it cannot drift from the code. It is served from here too: the
//! document lists every route, so the route that serves it lives beside it rather than in a
//! route module the document would have to list in turn.

use actix_web::{get, web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::resources::pages::ErrorResource;
use crate::routes;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_openapi);
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json")))]
#[get("/api/openapi.json")]
async fn get_openapi() -> HttpResponse {
    // Built once: the document is fixed for the life of the binary.
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.as_str())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "processd",
        description = "Runs registered scripts as tracked processes (DSpace 7 scripts/processes contract, HAL JSON)."
    ),
    paths(
        routes::root::get_root,
        get_openapi,
        routes::root::get_health,
        routes::root::get_metrics,
        routes::authn::get_authn,
        routes::authn::login,
        routes::authn::status,
        routes::authn::logout,
        routes::authn::short_lived_token,
        routes::epersons::get_eperson,
        routes::scripts::list_scripts,
        routes::scripts::get_script,
        routes::scripts::create_process,
        routes::processes::list_processes,
        routes::processes::search_by_property,
        routes::processes::search_own,
        routes::processes::get_process,
        routes::processes::stop_process,
        routes::processes::delete_process,
        routes::output::get_output,
        routes::output::get_output_lines,
        routes::files::list_files,
        routes::files::list_files_of_type,
        routes::files::list_filetypes,
        routes::files::get_archive,
        routes::uploads::list_upload_definitions,
        routes::uploads::create_upload_definition,
        routes::uploads::get_upload_definition,
        routes::uploads::update_upload_definition,
        routes::uploads::delete_upload_definition,
        routes::uploads::add_file_definition,
        routes::uploads::delete_file_definition,
        routes::uploads::upload_file,
        routes::bitstreams::get_bitstream,
        routes::bitstreams::get_bitstream_content,
        routes::events::get_events,
        routes::webhooks::list_webhooks,
        routes::webhooks::create_webhook,
        routes::webhooks::get_webhook,
        routes::webhooks::delete_webhook,
        routes::webhooks::list_deliveries,
        routes::webhooks::redeliver,
    ),
    // The shared error responses (`resources::responses`) refer to this schema without
    // registering it.
    components(schemas(ErrorResource)),
    modifiers(&BearerAuth),
    tags(
        (name = "scripts", description = "What may run, and starting it"),
        (name = "processes", description = "Following, stopping and deleting processes"),
        (name = "files", description = "Process files and their content"),
        (name = "uploads", description = "Multi-file upload sessions"),
        (name = "events", description = "Process events: a live stream, and webhooks"),
        (name = "authn", description = "Login, session refresh, short-lived download tokens, epersons"),
        (name = "service", description = "Root, health, metrics, this document"),
    )
)]
pub struct ApiDoc;

/// `Authorization: Bearer <token>`: an API token from `processd user add`, or a JWT from
/// `POST /api/authn/login`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
