//! Events, webhooks and deliveries as the API shows them.

use process_core::{Event, EventKind, Page};
use process_store::{Delivery, Webhook};
use serde::{Deserialize, Serialize};

use crate::hal::{timestamp, BaseUrl, Link, PageInfo, PageLinks};
use crate::resources::ProcessResource;

pub const WEBHOOKS_PATH: &str = "/api/system/webhooks";

/// One event, as the live stream sends it (`data`) and a webhook delivery carries it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventResource {
    /// Orders all events; the stream's `id`, to resume after with `Last-Event-ID`.
    pub id: String,
    /// `process.created`, `process.running`, `process.progress`, `process.completed`,
    /// `process.failed` or `process.deleted`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub time: String,
    /// The process right after the change (right before it, for `process.deleted`).
    pub process: ProcessResource,
}

impl EventResource {
    pub fn of(base: &BaseUrl, event: &Event, retention_days: Option<u32>) -> Self {
        Self {
            id: event.id.to_string(),
            kind: event.kind.as_str(),
            time: timestamp(event.time),
            process: ProcessResource::from_process(base, &event.process, retention_days, None),
        }
    }
}

/// The body of a webhook delivery: the event, and which delivery and attempt this is.
/// `X-Processd-Signature` is the HMAC-SHA256 of exactly these bytes; `sentAt` (also in
/// `X-Processd-Timestamp`) lets a receiver refuse a replayed delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryBody {
    #[serde(flatten)]
    pub event: EventResource,
    pub webhook_id: String,
    pub delivery_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub sent_at: String,
}

/// What `POST /api/system/webhooks` takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWebhookBody {
    /// Where deliveries are POSTed (`http` or `https`).
    pub url: String,
    /// The event types to deliver.
    pub events: Vec<String>,
    /// Signs each delivery (`X-Processd-Signature`); 16 to 256 bytes.
    pub secret: String,
    /// Administrators only: every process, not only the caller's own.
    #[serde(default)]
    pub all_processes: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub deliveries: Link,
}

/// A subscription (its secret is never shown).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResource {
    pub id: String,
    pub url: String,
    pub events: Vec<&'static str>,
    pub all_processes: bool,
    pub user_id: String,
    pub creation_time: String,
    #[serde(rename = "_links")]
    pub links: WebhookLinks,
}

impl WebhookResource {
    pub fn path(id: i64) -> String {
        format!("{WEBHOOKS_PATH}/{id}")
    }

    pub fn of(base: &BaseUrl, w: &Webhook) -> Self {
        let this = Self::path(w.id);
        Self {
            id: w.id.to_string(),
            url: w.url.clone(),
            events: w.events.iter().map(|k| k.as_str()).collect(),
            all_processes: w.all_processes,
            user_id: w.owner.to_string(),
            creation_time: timestamp(w.creation_time),
            links: WebhookLinks {
                deliveries: base.link(&format!("{this}/deliveries")),
                this: base.link(&this),
            },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookResource>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SelfLink {
    #[serde(rename = "self")]
    pub this: Link,
}

/// The caller's webhooks (an administrator's: all).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookCollection {
    #[serde(rename = "_embedded")]
    pub embedded: WebhookList,
    #[serde(rename = "_links")]
    pub links: SelfLink,
}

impl WebhookCollection {
    pub fn of(base: &BaseUrl, hooks: &[Webhook]) -> Self {
        Self {
            embedded: WebhookList {
                webhooks: hooks.iter().map(|w| WebhookResource::of(base, w)).collect(),
            },
            links: SelfLink {
                this: base.link(WEBHOOKS_PATH),
            },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryLinks {
    /// `POST` queues the event again.
    pub redeliver: Link,
    pub webhook: Link,
}

/// One event queued for a webhook, and what its attempts did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResource {
    pub id: String,
    pub event_id: String,
    pub process_id: String,
    /// `pending`, `delivered` or `failed` (given up after a day of retries).
    pub state: &'static str,
    pub attempts: u32,
    pub queued_time: String,
    /// When a pending delivery is tried next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
    /// The receiver's HTTP status at the last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(rename = "_links")]
    pub links: DeliveryLinks,
}

impl DeliveryResource {
    pub fn of(base: &BaseUrl, d: &Delivery) -> Self {
        let hook = WebhookResource::path(d.webhook_id);
        let pending = d.state == process_store::DeliveryState::Pending;
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            process_id: d.process_id.to_string(),
            state: d.state.as_str(),
            attempts: d.attempts,
            queued_time: timestamp(d.queued_time),
            next_attempt: pending.then(|| timestamp(d.next_attempt)),
            last_attempt: d.last_attempt.map(timestamp),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            links: DeliveryLinks {
                redeliver: base.link(&format!("{hook}/deliveries/{}/redeliver", d.id)),
                webhook: base.link(&hook),
            },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryResource>,
}

/// A page of a webhook's deliveries, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    #[serde(rename = "_embedded")]
    pub embedded: DeliveryList,
    pub page: PageInfo,
    #[serde(rename = "_links")]
    pub links: PageLinks,
}

impl DeliveryPage {
    pub fn of(base: &BaseUrl, webhook: i64, page: &Page<Delivery>) -> Self {
        let path = format!("{}/deliveries", WebhookResource::path(webhook));
        Self {
            embedded: DeliveryList {
                deliveries: page
                    .items
                    .iter()
                    .map(|d| DeliveryResource::of(base, d))
                    .collect(),
            },
            page: PageInfo::of(page),
            links: PageLinks::of(base, page, &path, ""),
        }
    }
}

/// The event types, for error messages.
pub fn event_kinds() -> String {
    EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
