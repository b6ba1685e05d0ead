//! One poller per process for the live feeds of this node that cannot be fed from memory (the
//! process has not started, or runs on another node): it reads the process's last line and
//! status once a second and publishes what it saw, and every feed of that process waits on it,
//! so a thousand followers cost the database what one does. It stops when no feed listens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::web;
use process_core::ProcessId;
use tokio::sync::watch;

use crate::state::AppState;

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

/// The pollers running now, by process. `None` until a poller's first look.
#[derive(Default)]
pub struct Watchers {
    running: Mutex<HashMap<ProcessId, watch::Receiver<Option<Seen>>>>,
}

impl Watchers {
    fn running(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<ProcessId, watch::Receiver<Option<Seen>>>> {
        // Single inserts and removes: a panic cannot leave the map inconsistent.
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What the poller of `id` sees, starting one if none runs.
    pub fn watch(
        &self,
        state: &web::Data<AppState>,
        id: ProcessId,
    ) -> watch::Receiver<Option<Seen>> {
        let mut running = self.running();
        if let Some(rx) = running.get(&id) {
            // A poller that ended has dropped its sender.
            if rx.has_changed().is_ok() {
                return rx.clone();
            }
        }
        let (tx, rx) = watch::channel(None);
        running.insert(id, rx.clone());
        actix_web::rt::spawn(poll(state.clone(), id, tx));
        rx
    }

    /// How many pollers run now.
    pub fn count(&self) -> usize {
        self.running().len()
    }

    /// Forgets the poller of `id` if it is the one sending on `tx`.
    fn forget(&self, id: ProcessId, tx: &watch::Sender<Option<Seen>>) {
        let mut running = self.running();
        let ours = tx.subscribe();
        if running.get(&id).is_some_and(|rx| rx.same_channel(&ours)) {
            running.remove(&id);
        }
    }
}

async fn poll(state: web::Data<AppState>, id: ProcessId, tx: watch::Sender<Option<Seen>>) {
    // The map holds one receiver itself: more than one means a feed listens.
    while tx.receiver_count() > 1 {
        let seen = async {
            let last_seq = state.log(move |o| o.last_output_seq(id)).await?;
            let process = state.db(move |s| s.get_process(id)).await?;
            let finished = process.is_none_or(|p| p.status().is_terminal());
            Ok::<_, crate::error::ApiError>(Seen { last_seq, finished })
        }
        .await;
        match seen {
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
    state.watchers.forget(id, &tx);
}
