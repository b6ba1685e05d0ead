//! Retention and housekeeping: an hourly sweep that deletes finished processes (with their
//! output and files) and upload sessions once they are older than `retention_days`, and
//! removes temporary upload files a crash or a dropped connection left behind.

use std::time::Duration;

use process_store::Store;
use time::OffsetDateTime;

/// How often the sweep runs.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Processes deleted per batch, so a large backlog does not hold the database for long.
const BATCH: u32 = 200;

/// When a process that ended at `end` expires.
pub fn expiry(end: OffsetDateTime, days: u32) -> OffsetDateTime {
    end + time::Duration::days(i64::from(days))
}

/// Anything older than this has outlived `days` of retention at `now`.
fn cutoff(now: OffsetDateTime, days: u32) -> OffsetDateTime {
    now - time::Duration::days(i64::from(days))
}

/// Deletes every finished process that ended before `now - days`; returns how many.
pub fn sweep(
    store: &Store,
    days: u32,
    now: OffsetDateTime,
) -> Result<usize, process_store::StoreError> {
    let cutoff = cutoff(now, days);
    let mut deleted = 0;
    let mut after = 0;
    loop {
        let ids = store.finished_before(cutoff, after, BATCH)?;
        let Some(last) = ids.last() else {
            return Ok(deleted);
        };
        after = last.get();
        for id in ids {
            match store.delete_process(id) {
                Ok(Some(d)) => {
                    deleted += 1;
                    tracing::info!(
                        process = %id,
                        script = %d.process.script,
                        files = d.files.len(),
                        "retention: deleted an expired process"
                    );
                }
                Ok(None) => {}
                // A process others still wait on stays until they have run; the next sweep
                // takes it.
                Err(process_store::StoreError::Depended(..)) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Deletes upload sessions not changed for `days`; returns how many.
pub fn sweep_uploads(
    store: &Store,
    days: u32,
    now: OffsetDateTime,
) -> Result<usize, process_store::StoreError> {
    let cutoff = cutoff(now, days);
    let mut deleted = 0;
    let mut after = String::new();
    loop {
        let ids = store.uploads_untouched_since(cutoff, &after, BATCH)?;
        let Some(last) = ids.last() else {
            return Ok(deleted);
        };
        after = last.to_string();
        for id in ids {
            if let Some(def) = store.delete_upload(id)? {
                deleted += 1;
                tracing::info!(upload = %id, files = def.files.len(), "retention: deleted an upload session");
            }
        }
    }
}

/// A temporary upload file older than this is a leftover, never one in use.
const TMP_MAX_AGE: Duration = Duration::from_secs(3600);

/// One round of housekeeping.
fn housekeep(store: &Store, days: Option<u32>) -> Result<(), process_store::StoreError> {
    let removed = store.clean_tmp(TMP_MAX_AGE);
    if removed > 0 {
        tracing::info!(files = removed, "removed leftover temporary uploads");
    }
    let orphans = store.clean_orphan_inputs(TMP_MAX_AGE)?;
    if orphans > 0 {
        tracing::info!(files = orphans, "removed input files no process refers to");
    }
    if let Some(days) = days {
        let now = OffsetDateTime::now_utc();
        let processes = sweep(store, days, now)?;
        let uploads = sweep_uploads(store, days, now)?;
        if processes + uploads > 0 {
            tracing::info!(processes, uploads, "retention sweep done");
        }
    }
    Ok(())
}

/// Runs housekeeping now and then every hour, on the blocking pool; `days` is
/// `retention_days` (None keeps everything).
pub fn spawn(store: Store, days: Option<u32>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let s = store.clone();
            match tokio::task::spawn_blocking(move || housekeep(&s, days)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "housekeeping failed"),
                Err(e) => tracing::error!(error = %e, "housekeeping panicked"),
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use process_core::{
        DependencyType, NewProcess, ProcessStatus, ScriptName, StatusReason, Transition,
    };
    use process_store::Layout;

    fn finished(
        store: &Store,
        at: OffsetDateTime,
        depends_on: Vec<process_core::ProcessId>,
    ) -> process_core::ProcessId {
        let p = store
            .create_process(
                &NewProcess {
                    owner: None,
                    script: ScriptName::parse("x").unwrap(),
                    creation_time: at,
                    parameters: vec![],
                    not_before: None,
                    depends_on,
                    dependency_type: DependencyType::AfterAny,
                },
                &[],
            )
            .unwrap();
        store
            .transition(
                p.id,
                &Transition::Fail {
                    at,
                    reason: StatusReason::Exit,
                    exit_code: Some(1),
                },
            )
            .unwrap();
        p.id
    }

    #[test]
    fn sweep_deletes_only_expired_finished_processes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &format!("sqlite://{}/db", dir.path().display()),
            Layout::new(dir.path()),
        )
        .unwrap();
        store.migrate().unwrap();
        let now = OffsetDateTime::now_utc();
        let old = finished(&store, now - time::Duration::days(10), vec![]);
        let recent = finished(&store, now - time::Duration::days(1), vec![]);
        // An old process that a scheduled one still waits on is kept.
        let waited_on = finished(&store, now - time::Duration::days(10), vec![]);
        let waiter = store
            .create_process(
                &NewProcess {
                    owner: None,
                    script: ScriptName::parse("x").unwrap(),
                    creation_time: now,
                    parameters: vec![],
                    not_before: None,
                    depends_on: vec![waited_on],
                    dependency_type: DependencyType::AfterOk,
                },
                &[],
            )
            .unwrap();
        assert_eq!(sweep(&store, 7, now).unwrap(), 1);
        assert!(store.get_process(old).unwrap().is_none());
        assert!(store.get_process(recent).unwrap().is_some());
        assert!(store.get_process(waited_on).unwrap().is_some());
        assert_eq!(
            store.get_process(waiter.id).unwrap().unwrap().status(),
            ProcessStatus::Scheduled
        );
        assert_eq!(expiry(now, 7), now + time::Duration::days(7));
    }
}
