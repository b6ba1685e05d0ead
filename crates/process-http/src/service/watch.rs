//! One poller per process for the live feeds of this node that cannot be fed from memory (the
//! process has not started, or runs on another node): it looks at the process's last line and
//! status once a second and publishes what it saw, and every feed of that process waits on it,
//! so a thousand followers cost the database what one does. It stops when no feed listens.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use process_core::ProcessId;
use tokio::sync::watch;

use crate::error::ApiError;

/// How often a poller looks.
const POLL: Duration = Duration::from_secs(1);

/// What a poller saw of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// The sequence number of its last stored line.
    pub last_seq: i64,
    /// It has ended (or no longer exists).
    pub finished: bool,
}

type Running = Arc<Mutex<HashMap<ProcessId, watch::Receiver<Option<Seen>>>>>;

/// The pollers running now, by process. A receiver holds `None` until its poller's first look.
#[derive(Default)]
pub struct Watchers {
    running: Running,
}

/// Single inserts and removes: a panic cannot leave the map inconsistent.
fn lock(running: &Running) -> MutexGuard<'_, HashMap<ProcessId, watch::Receiver<Option<Seen>>>> {
    running
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Watchers {
    /// What the poller of `id` sees, starting one that calls `look` if none runs.
    pub fn watch<F, Fut>(&self, id: ProcessId, look: F) -> watch::Receiver<Option<Seen>>
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Seen, ApiError>> + Send + 'static,
    {
        let mut running = lock(&self.running);
        if let Some(rx) = running.get(&id) {
            // A poller that ended has dropped its sender.
            if rx.has_changed().is_ok() {
                return rx.clone();
            }
        }
        let (tx, rx) = watch::channel(None);
        running.insert(id, rx.clone());
        actix_web::rt::spawn(poll(Arc::clone(&self.running), id, tx, look));
        rx
    }

    /// How many pollers run now.
    pub fn count(&self) -> usize {
        lock(&self.running).len()
    }
}

async fn poll<F, Fut>(running: Running, id: ProcessId, tx: watch::Sender<Option<Seen>>, look: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Seen, ApiError>>,
{
    // The map holds one receiver itself: more than one means a feed listens.
    while tx.receiver_count() > 1 {
        match look().await {
            Ok(seen) => {
                tx.send_if_modified(|old| {
                    let changed = *old != Some(seen);
                    *old = Some(seen);
                    changed
                });
                if seen.finished {
                    break;
                }
            }
            // The feeds notice nothing new and keep their heartbeat; the next look may work.
            Err(e) => tracing::warn!(process = %id, error = %e, "live output poll failed"),
        }
        tokio::time::sleep(POLL).await;
    }
    // Forgotten only if the map still holds this poller, not a newer one.
    let ours = tx.subscribe();
    let mut running = lock(&running);
    if running.get(&id).is_some_and(|rx| rx.same_channel(&ours)) {
        running.remove(&id);
    }
}
