//! The webhook sender: fills the outbox from new events (`Store::fill_outbox`), takes due
//! deliveries from it, POSTs each one signed, and records what happened. Each webhook has a few requests in flight at most, and its
//! deliveries for one process go one at a time in order (the store only offers the oldest
//! pending one), so a slow or dead receiver holds up only itself; nothing here is on the path
//! of a launch.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hmac::{Hmac, Mac};
use process_store::{Attempt, AttemptOutcome, DueDelivery, Store};
use sha2::Sha256;
use time::OffsetDateTime;
use tokio::sync::{watch, Notify};

use crate::hal::{timestamp, BaseUrl};
use crate::resources::event::{DeliveryBody, EventResource};
use crate::webhook::target::{GuardedResolver, TargetPolicy};

/// Requests in flight per webhook, and in all.
const PER_WEBHOOK: usize = 4;
const IN_ALL: usize = 64;
/// A receiver gets this long to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Events turned into deliveries per transaction.
const FILL_BATCH: u32 = 1000;
/// How often due retries are looked for when no event arrives.
const TICK: Duration = Duration::from_secs(1);
/// A delivery is retried for this long after it was queued, then marked failed.
const RETRY_FOR: time::Duration = time::Duration::days(1);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// When to try again after `attempts` failed attempts: 1 s, 2 s, 4 s, … up to an hour.
pub fn backoff(attempts: u32) -> Duration {
    let secs = 1u64 << attempts.saturating_sub(1).min(12);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

/// `sha256=<hex HMAC-SHA256 of body under secret>`, the `X-Processd-Signature` value.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What is in flight now.
#[derive(Default)]
struct InFlight {
    deliveries: HashSet<i64>,
    per_webhook: HashMap<i64, usize>,
}

fn lock(m: &Mutex<InFlight>) -> MutexGuard<'_, InFlight> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub struct Sender {
    store: Store,
    client: reqwest::Client,
    retention_days: Option<u32>,
    in_flight: Mutex<InFlight>,
    /// Rung when a request ends (a slot is free, the next of its process may be due).
    freed: Notify,
}

impl Sender {
    pub fn new(
        store: Store,
        policy: Arc<TargetPolicy>,
        retention_days: Option<u32>,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            // A redirect could lead anywhere; the receiver's URL is the one that was checked.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .user_agent(concat!("processd/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            client,
            retention_days,
            in_flight: Mutex::default(),
            freed: Notify::new(),
        })
    }

    /// Sends until the process ends: wakes on each new event (`events` carries the newest
    /// id), when a request ends, and every second for retries.
    pub fn spawn(self: Arc<Self>, mut events: watch::Receiver<i64>) {
        tokio::spawn(async move {
            loop {
                if let Err(e) = Arc::clone(&self).round().await {
                    tracing::warn!(error = %e, "webhook deliveries: could not read the outbox");
                }
                tokio::select! {
                    changed = events.changed() => if changed.is_err() { return },
                    () = self.freed.notified() => {}
                    () = tokio::time::sleep(TICK) => {}
                }
            }
        });
    }

    /// Starts every due delivery there is room for.
    async fn round(self: Arc<Self>) -> anyhow::Result<()> {
        let (busy, full, room) = {
            let f = lock(&self.in_flight);
            let full: Vec<i64> = f
                .per_webhook
                .iter()
                .filter(|(_, n)| **n >= PER_WEBHOOK)
                .map(|(id, _)| *id)
                .collect();
            let busy: Vec<i64> = f.deliveries.iter().copied().collect();
            (busy, full, IN_ALL.saturating_sub(f.deliveries.len()))
        };
        if room == 0 {
            // Still turn new events into deliveries, so none waits on a busy receiver.
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || store.fill_outbox(FILL_BATCH)).await??;
            return Ok(());
        }
        let store = self.store.clone();
        let now = OffsetDateTime::now_utc();
        let limit = u32::try_from(room).unwrap_or(u32::MAX);
        let due = tokio::task::spawn_blocking(move || {
            // New events first become deliveries, off the path of the changes that made them.
            while store.fill_outbox(FILL_BATCH)? == FILL_BATCH as usize {}
            store.due_deliveries(now, &busy, &full, limit)
        })
        .await??;
        for d in due {
            {
                let mut f = lock(&self.in_flight);
                let n = f.per_webhook.entry(d.delivery.webhook_id).or_default();
                if *n >= PER_WEBHOOK {
                    continue;
                }
                *n += 1;
                f.deliveries.insert(d.delivery.id);
            }
            tokio::spawn(Arc::clone(&self).send(d));
        }
        Ok(())
    }

    async fn send(self: Arc<Self>, d: DueDelivery) {
        let (id, webhook) = (d.delivery.id, d.delivery.webhook_id);
        let attempt = self.attempt(&d).await;
        let store = self.store.clone();
        let recorded =
            tokio::task::spawn_blocking(move || store.record_attempt(id, &attempt)).await;
        if !matches!(recorded, Ok(Ok(()))) {
            // The delivery stays pending and is sent again: at least once, never lost.
            tracing::warn!(delivery = id, "could not record a webhook delivery attempt");
        }
        {
            let mut f = lock(&self.in_flight);
            f.deliveries.remove(&id);
            if let Some(n) = f.per_webhook.get_mut(&webhook) {
                *n -= 1;
                if *n == 0 {
                    f.per_webhook.remove(&webhook);
                }
            }
        }
        self.freed.notify_one();
    }

    /// One POST, and what it means for the delivery.
    async fn attempt(&self, d: &DueDelivery) -> Attempt {
        let at = OffsetDateTime::now_utc();
        let number = d.delivery.attempts + 1;
        let base = BaseUrl::new(&d.base_url);
        let body = DeliveryBody {
            event: EventResource::of(&base, &d.event, self.retention_days),
            webhook_id: d.delivery.webhook_id.to_string(),
            delivery_id: d.delivery.id.to_string(),
            attempt: number,
            sent_at: timestamp(at),
        };
        let body = serde_json::to_vec(&body).expect("a delivery body serializes");
        let result = self
            .client
            .post(&d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                "X-Processd-Signature",
                signature(d.secret.as_bytes(), &body),
            )
            .header("X-Processd-Timestamp", at.unix_timestamp().to_string())
            .header("X-Processd-Event", d.event.kind.as_str())
            .header("X-Processd-Delivery", d.delivery.id.to_string())
            .body(body)
            .send()
            .await;
        let (status, error) = match result {
            Ok(res) if res.status().is_success() => {
                return Attempt {
                    at,
                    status: Some(res.status().as_u16()),
                    error: None,
                    outcome: AttemptOutcome::Delivered,
                }
            }
            Ok(res) => (
                Some(res.status().as_u16()),
                format!("the receiver answered {}", res.status()),
            ),
            Err(e) => (None, describe(&e)),
        };
        let next = at + backoff(number);
        let outcome = if next - d.delivery.queued_time > RETRY_FOR {
            AttemptOutcome::GiveUp
        } else {
            AttemptOutcome::RetryAt(next)
        };
        tracing::info!(
            delivery = d.delivery.id,
            webhook = d.delivery.webhook_id,
            attempt = number,
            error = %error,
            "webhook delivery failed"
        );
        Attempt {
            at,
            status,
            error: Some(error),
            outcome,
        }
    }
}

/// A request error with its causes (reqwest's own message is only the outermost).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let secs: Vec<u64> = (1..=14).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(
            secs,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]
        );
    }

    #[test]
    fn signature_is_the_hmac_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
