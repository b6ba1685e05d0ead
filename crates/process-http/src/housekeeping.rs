//! The hourly housekeeping round: the store's retention sweeps and the removal of leftover
//! files, run on the blocking pool so the database calls never block an async worker.

use std::time::Duration;

use process_store::Store;
use time::OffsetDateTime;

/// How often a round runs.
const EVERY: Duration = Duration::from_secs(3600);

/// Runs housekeeping now and then every hour; `days` is `retention_days` (None keeps
/// everything).
pub fn spawn(store: Store, days: Option<u32>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let s = store.clone();
            let round =
                tokio::task::spawn_blocking(move || s.housekeep(days, OffsetDateTime::now_utc()));
            match round.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "housekeeping failed"),
                Err(e) => tracing::error!(error = %e, "housekeeping panicked"),
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}
