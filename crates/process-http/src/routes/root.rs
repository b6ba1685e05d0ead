//! The HAL root and the health check.

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_root)
        .service(get_health)
        .service(get_metrics);
}

#[get("/api")]
async fn get_root() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "_links": {
            "self": {"href": "/api"},
            "scripts": {"href": "/api/system/scripts"},
            "processes": {"href": "/api/system/processes"},
        }
    }))
}

/// 200 when the database answers, 503 otherwise.
#[get("/healthz")]
async fn get_health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.db(|s| s.ping()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "status": "UP",
        "database": state.store.backend(),
        "running": state.runner.running_count(),
    })))
}

/// Prometheus text format.
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
