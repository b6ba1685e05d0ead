//! `/api/system/webhooks`: subscriptions to process events, delivered as signed POSTs, with
//! each webhook's delivery log and a redeliver action.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::hal::BaseUrl;
use crate::resources::event::{
    DeliveryPage, DeliveryResource, NewWebhookBody, WebhookCollection, WebhookResource,
};
use crate::resources::pages::ErrorResource;
use crate::resources::requests::Paging;
use crate::resources::responses::{JsonBodyErrors, LoginRequired};
use crate::service::webhooks;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(get_webhook)
        .service(delete_webhook)
        .service(list_deliveries)
        .service(redeliver);
}

#[utoipa::path(get, path = "/api/system/webhooks", tag = "events",
    responses(
        (status = 200, description = "The caller's webhooks (administrators: all)", body = WebhookCollection),
        LoginRequired,
    ), security(("bearer" = [])))]
#[get("/api/system/webhooks")]
async fn list_webhooks(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
) -> Result<HttpResponse, ApiError> {
    let hooks = webhooks::list(&state, &caller).await?;
    Ok(HttpResponse::Ok().json(WebhookCollection::of(&base, &hooks)))
}

#[utoipa::path(post, path = "/api/system/webhooks", tag = "events",
    request_body(content = NewWebhookBody, description = "Where to deliver, which events, and the secret that signs each delivery"),
    responses(
        (status = 201, description = "Subscribed", body = WebhookResource, headers(("Location" = String, description = "Its absolute URL"))),
        (status = 400, description = "Bad JSON, or the caller has as many webhooks as a user may", body = ErrorResource),
        (status = 403, description = "allProcesses asked by someone who is not an administrator", body = ErrorResource),
        (status = 422, description = "A URL webhooks may not reach, an unknown event type, or a secret too short or too long", body = ErrorResource),
        JsonBodyErrors,
        LoginRequired,
    ), security(("bearer" = [])))]
#[post("/api/system/webhooks")]
async fn create_webhook(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let hook = webhooks::create(&state, &caller, &base, &req, payload).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, base.href(&WebhookResource::path(hook.id))))
        .json(WebhookResource::of(&base, &hook)))
}

#[utoipa::path(get, path = "/api/system/webhooks/{id}", tag = "events",
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookResource),
        (status = 404, description = "No such webhook, or someone else's", body = ErrorResource),
        LoginRequired,
    ), security(("bearer" = [])))]
#[get("/api/system/webhooks/{id}")]
async fn get_webhook(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hook = webhooks::visible(&state, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(WebhookResource::of(&base, &hook)))
}

#[utoipa::path(delete, path = "/api/system/webhooks/{id}", tag = "events",
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Unsubscribed; its pending deliveries are dropped"),
        (status = 404, description = "No such webhook, or someone else's", body = ErrorResource),
        LoginRequired,
    ), security(("bearer" = [])))]
#[delete("/api/system/webhooks/{id}")]
async fn delete_webhook(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    webhooks::delete(&state, &caller, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/system/webhooks/{id}/deliveries", tag = "events",
    params(("id" = String, Path, description = "The webhook's id"), Paging),
    responses(
        (status = 200, description = "The webhook's deliveries, newest first", body = DeliveryPage),
        (status = 400, description = "Bad paging", body = ErrorResource),
        (status = 404, description = "No such webhook, or someone else's", body = ErrorResource),
        LoginRequired,
    ), security(("bearer" = [])))]
#[get("/api/system/webhooks/{id}/deliveries")]
async fn list_deliveries(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    id: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (hook, page) = webhooks::deliveries(&state, &caller, &id, &paging).await?;
    Ok(HttpResponse::Ok().json(DeliveryPage::of(&base, hook.id, &page)))
}

#[utoipa::path(post, path = "/api/system/webhooks/{id}/deliveries/{deliveryId}/redeliver", tag = "events",
    params(("id" = String, Path, description = "The webhook's id"), ("deliveryId" = String, Path, description = "The delivery to send again")),
    responses(
        (status = 202, description = "The event is queued again, as a new delivery", body = DeliveryResource),
        (status = 404, description = "No such webhook or delivery, or someone else's", body = ErrorResource),
        LoginRequired,
    ), security(("bearer" = [])))]
#[post("/api/system/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
async fn redeliver(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    base: BaseUrl,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let queued = webhooks::redeliver(&state, &caller, &id, &delivery).await?;
    Ok(HttpResponse::Accepted().json(DeliveryResource::of(&base, &queued)))
}
