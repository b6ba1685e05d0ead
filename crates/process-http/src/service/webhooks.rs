//! Webhooks: subscribing, listing, unsubscribing, and the delivery log with its redeliver
//! action. A webhook is its owner's (administrators see all); someone else's looks missing.

use actix_web::{web, HttpRequest};
use process_core::auth::{list_scope, may_access_owned, missing, require_admin, require_user};
use process_core::{Caller, EventKind, ListScope, Page};
use process_store::{Delivery, NewWebhook, Webhook};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::hal::BaseUrl;
use crate::resources::event::{event_kinds, NewWebhookBody};
use crate::resources::requests::Paging;
use crate::service::body::{read_json_object, Pace};
use crate::state::AppState;

/// Webhooks one user may have.
pub const MAX_PER_USER: usize = 100;
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 16..=256;
const MAX_URL_BYTES: usize = 2048;

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::Unprocessable(message.into())
}

/// Checks a subscription request: the URL against `webhook_allowed_hosts`, known event
/// types, a secret of a sensible length, and `allProcesses` for administrators only.
fn validate(
    state: &AppState,
    caller: &Caller,
    body: &NewWebhookBody,
) -> Result<Vec<EventKind>, ApiError> {
    if body.all_processes {
        require_admin(caller).map_err(|_| {
            ApiError::Forbidden("only administrators may subscribe to every process".into())
        })?;
    }
    if body.url.len() > MAX_URL_BYTES {
        return Err(unprocessable(format!(
            "url is longer than {MAX_URL_BYTES} bytes"
        )));
    }
    state
        .webhook_targets
        .check_url(&body.url)
        .map_err(unprocessable)?;
    if !SECRET_BYTES.contains(&body.secret.len()) {
        return Err(unprocessable(format!(
            "secret must be {} to {} bytes",
            SECRET_BYTES.start(),
            SECRET_BYTES.end()
        )));
    }
    if body.events.is_empty() {
        return Err(unprocessable(format!(
            "events must name at least one of {}",
            event_kinds()
        )));
    }
    body.events
        .iter()
        .map(|e| {
            e.parse::<EventKind>().map_err(|_| {
                unprocessable(format!(
                    "unknown event type {e:?}; the types are {}",
                    event_kinds()
                ))
            })
        })
        .collect()
}

pub async fn create(
    state: &AppState,
    caller: &Caller,
    base: &BaseUrl,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Webhook, ApiError> {
    let owner = require_user(caller)?;
    let value = read_json_object(req, payload, Pace::new(&state.config)).await?;
    let body: NewWebhookBody = serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    let events = validate(state, caller, &body)?;
    let new = NewWebhook {
        owner,
        url: body.url,
        secret: body.secret,
        base_url: base.as_str().to_owned(),
        events,
        all_processes: body.all_processes,
    };
    state
        .db(move |s| {
            // Counted and created apart: a race lets a user past the cap by a few, no more.
            if s.webhooks(Some(owner))?.len() >= MAX_PER_USER {
                return Ok(None);
            }
            s.create_webhook(&new, OffsetDateTime::now_utc()).map(Some)
        })
        .await?
        .ok_or_else(|| {
            ApiError::LimitExceeded(format!("a user may have at most {MAX_PER_USER} webhooks"))
        })
}

pub async fn list(state: &AppState, caller: &Caller) -> Result<Vec<Webhook>, ApiError> {
    let owner = match list_scope(caller)? {
        ListScope::All => None,
        ListScope::OwnedBy(owner) => Some(owner),
    };
    state.db(move |s| s.webhooks(owner)).await
}

/// Webhook `id` if `caller` may see it (401 for anonymous callers, 404 otherwise).
pub async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<Webhook, ApiError> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(missing(caller).into());
    };
    match state.db(move |s| s.webhook(id)).await? {
        Some(w) => {
            may_access_owned(caller, w.owner)?;
            Ok(w)
        }
        None => Err(missing(caller).into()),
    }
}

pub async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let w = visible(state, caller, id).await?;
    state.db(move |s| s.delete_webhook(w.id)).await?;
    Ok(())
}

pub async fn deliveries(
    state: &AppState,
    caller: &Caller,
    id: &str,
    paging: &Paging,
) -> Result<(Webhook, Page<Delivery>), ApiError> {
    let page = paging.request()?;
    let w = visible(state, caller, id).await?;
    let hook = w.id;
    let deliveries = state.db(move |s| s.deliveries(hook, page)).await?;
    Ok((w, deliveries))
}

pub async fn redeliver(
    state: &AppState,
    caller: &Caller,
    id: &str,
    delivery: &str,
) -> Result<Delivery, ApiError> {
    let w = visible(state, caller, id).await?;
    let not_found = || ApiError::not_found(format!("delivery {delivery} of webhook {}", w.id));
    let Ok(delivery_id) = delivery.parse::<i64>() else {
        return Err(not_found());
    };
    let hook = w.id;
    state
        .db(move |s| s.redeliver(hook, delivery_id, OffsetDateTime::now_utc()))
        .await?
        .ok_or_else(not_found)
}
