//! The live event stream (`GET /api/system/events`) and what wakes it: one poller per node
//! reads the newest event id a few times a second and publishes it; each feed, and the
//! webhook sender, reads the events after its own cursor only when that id moved. Events
//! come from the database, so a feed sees the changes every node makes, and a client resumes
//! with `Last-Event-ID` from any node.

use std::time::Duration;

use actix_web::web::{self, Bytes};
use futures_util::Stream;
use process_core::auth::list_scope;
use process_core::{Caller, ListScope, UserId};
use process_store::Store;
use tokio::sync::watch;

use crate::error::ApiError;
use crate::hal::BaseUrl;
use crate::limits::{CallerKey, CapKey, CapSlot, ClientAddr};
use crate::resources::event::EventResource;
use crate::state::AppState;

/// How often the newest event id is read.
const POLL: Duration = Duration::from_millis(200);
/// Events read per query.
const BATCH: u32 = 500;

/// Publishes the newest event id.
pub fn spawn_hub(store: Store) -> watch::Receiver<i64> {
    let first = store.last_event_id().unwrap_or(0);
    let (tx, rx) = watch::channel(first);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !tx.is_closed() {
            tick.tick().await;
            let s = store.clone();
            match tokio::task::spawn_blocking(move || s.last_event_id()).await {
                Ok(Ok(last)) => {
                    tx.send_if_modified(|seen| {
                        let newer = last > *seen;
                        if newer {
                            *seen = last;
                        }
                        newer
                    });
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "could not read the newest event id"),
                Err(e) => tracing::error!(error = %e, "event poll panicked"),
            }
        }
    });
    rx
}

/// Whose events `caller` sees: an administrator all (`None`), a user their own processes';
/// an anonymous caller none (401).
pub fn scope(caller: &Caller) -> Result<Option<UserId>, ApiError> {
    Ok(match list_scope(caller)? {
        ListScope::All => None,
        ListScope::OwnedBy(owner) => Some(owner),
    })
}

/// The id to start after: `Last-Event-ID` when given, else the newest event (only what
/// happens from now on).
pub async fn start_after(state: &AppState, last_event_id: Option<&str>) -> Result<i64, ApiError> {
    match last_event_id {
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "Last-Event-ID must be an event id (a non-negative integer), not {raw:?}"
                ))
            }),
        None => state.db(Store::last_event_id).await,
    }
}

/// A place for one more event stream of this caller (they share the live-feed cap).
pub fn slot(state: &AppState, caller: &Caller, addr: ClientAddr) -> Result<CapSlot, ApiError> {
    state
        .followers
        .per_caller
        .try_acquire(CapKey::Caller(CallerKey::of(caller, addr)))
        .map_err(|_| ApiError::TooManyConcurrent {
            message: format!(
                "at most {} live feeds per caller at once",
                state.config.max_followers_per_caller
            ),
            retry_after: Duration::from_secs(5),
        })
}

struct Feed {
    state: web::Data<AppState>,
    base: BaseUrl,
    owner: Option<UserId>,
    after: i64,
    newest: watch::Receiver<i64>,
    _slot: CapSlot,
}

/// The events after `after` that `owner` may see (all for `None`), then each new one as it
/// is recorded, with a comment every `sse_heartbeat` on a quiet stream.
pub fn feed(
    state: web::Data<AppState>,
    base: BaseUrl,
    owner: Option<UserId>,
    after: i64,
    slot: CapSlot,
) -> impl Stream<Item = Result<Bytes, ApiError>> {
    let newest = state.events.clone();
    let f = Feed {
        state,
        base,
        owner,
        after,
        newest,
        _slot: slot,
    };
    futures_util::stream::unfold(Some(f), |f| async move {
        let mut f = f?;
        let heartbeat = f.state.config.sse_heartbeat;
        loop {
            // Read before querying: every event up to it is committed (ids follow commit
            // order), so a short answer means nothing up to it is left for this owner.
            let seen = *f.newest.borrow_and_update();
            if seen > f.after {
                let (after, owner) = (f.after, f.owner);
                let events = match f
                    .state
                    .db(move |s| s.events_after(after, owner, BATCH))
                    .await
                {
                    Ok(events) => events,
                    Err(e) => return Some((Err(e), None)),
                };
                let full = events.len() == BATCH as usize;
                f.after = match events.last() {
                    Some(last) if full => last.id,
                    Some(last) => last.id.max(seen),
                    None => seen,
                };
                if !events.is_empty() {
                    let mut out = String::new();
                    for event in &events {
                        let resource =
                            EventResource::of(&f.base, event, f.state.config.retention_days);
                        let data = serde_json::to_string(&resource).unwrap_or_default();
                        out.push_str(&format!(
                            "id: {}\nevent: {}\ndata: {data}\n\n",
                            event.id,
                            event.kind.as_str()
                        ));
                    }
                    return Some((Ok(Bytes::from(out)), Some(f)));
                }
                continue;
            }
            match tokio::time::timeout(heartbeat, f.newest.changed()).await {
                Ok(Ok(())) => continue,
                // The service is shutting down.
                Ok(Err(_)) => return None,
                Err(_) => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), Some(f))),
            }
        }
    })
}
