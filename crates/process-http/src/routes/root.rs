//! The HAL root, the health check and metrics. (The OpenAPI document is served by
//! `crate::openapi`, which lists these routes.)

use actix_web::{get, web, HttpResponse};

use process_core::auth::require_admin;
use process_core::Denied;

use crate::auth::Auth;
use crate::config::MetricsAllowed;
use crate::error::ApiError;
use crate::hal::BaseUrl;
use crate::resources::pages::{ErrorResource, HealthResource};
use crate::resources::root::{RootResource, Site};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_root)
        .service(get_health)
        .service(get_metrics);
}

#[utoipa::path(get, path = "/api", tag = "service",
    responses((status = 200, description = "What this service is, and links to the resources of the API", body = RootResource)))]
#[get("/api")]
async fn get_root(state: web::Data<AppState>, base: BaseUrl) -> HttpResponse {
    let site = Site {
        name: &state.config.name,
        ui_url: state.config.ui_url.as_deref(),
    };
    HttpResponse::Ok().json(RootResource::of(&base, &site))
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

/// Prometheus text format; only for admins when `metrics_allowed = "admin"`.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses(
        (status = 200, description = "Prometheus metrics", content_type = "text/plain", body = String),
        (status = 401, description = "metrics_allowed is admin and no valid token was sent", body = ErrorResource),
        (status = 403, description = "metrics_allowed is admin and the caller is not one", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/metrics")]
async fn get_metrics(
    state: web::Data<AppState>,
    auth: Option<Auth>,
) -> Result<HttpResponse, ApiError> {
    if state.config.metrics_allowed == MetricsAllowed::Admin {
        // A missing or an invalid token alike: a login is needed.
        let Some(Auth(caller)) = auth else {
            return Err(Denied::Unauthenticated.into());
        };
        require_admin(&caller)?;
    }
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
