//! The HAL root, the health check and metrics. (The OpenAPI document is served by
//! `crate::openapi`, which lists these routes.)

use actix_web::{get, web, HttpResponse};

use crate::error::ApiError;
use crate::resources::pages::{ErrorResource, HealthResource, RootResource};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_root)
        .service(get_health)
        .service(get_metrics);
}

#[utoipa::path(get, path = "/api", tag = "service",
    responses((status = 200, description = "Links to the resources of the API", body = RootResource)))]
#[get("/api")]
async fn get_root() -> HttpResponse {
    HttpResponse::Ok().json(RootResource::default())
}

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses(
        (status = 200, description = "The service and its database answer", body = HealthResource),
        (status = 503, description = "The database does not answer", body = ErrorResource),
    ))]
#[get("/healthz")]
async fn get_health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db(|s| s.ping()).await?;
    Ok(HttpResponse::Ok().json(HealthResource {
        status: "UP",
        database: state.store.backend(),
        running: state.runner.running_count(),
    }))
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus metrics", content_type = "text/plain", body = String)))]
#[get("/metrics")]
async fn get_metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let by_status = state.db(|s| s.count_by_status()).await?;
    let body = state.metrics.render(
        &by_status,
        state.runner.lines_captured(),
        state.runner.running_count(),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
