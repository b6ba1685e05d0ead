//! Retention and housekeeping: deleting finished processes (with their output and files) and
//! upload sessions once they are older than `retention_days`, and removing files a crash or
//! a dropped connection left behind. The caller decides when a round runs.

use std::time::Duration;

use process_core::retention::cutoff;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::{Store, Waiters};

/// Processes (and sessions) deleted per batch, so a large backlog does not hold the database
/// for long.
const BATCH: u32 = 200;

/// A temporary upload file older than this is a leftover, never one in use.
const TMP_MAX_AGE: Duration = Duration::from_secs(3600);

impl Store {
    /// Deletes every finished process that ended more than `days` before `now`; returns how
    /// many.
    pub fn sweep_processes(&self, days: u32, now: OffsetDateTime) -> Result<usize, StoreError> {
        let cutoff = cutoff(now, days);
        let mut deleted = 0;
        let mut after = 0;
        loop {
            let ids = self.finished_before(cutoff, after, BATCH)?;
            let Some(last) = ids.last() else {
                return Ok(deleted);
            };
            after = last.get();
            for id in ids {
                // Retention wins over waiters: they fail `dependency` instead of pinning it.
                if let Some(d) = self.delete_process(id, Waiters::Fail(now))? {
                    deleted += 1;
                    tracing::info!(
                        process = %id,
                        script = %d.process.script,
                        files = d.files.len(),
                        waiters = d.failed_waiters.len(),
                        "retention: deleted an expired process"
                    );
                    // The store is today's output log too.
                    d.settle(self, now)?;
                }
            }
        }
    }

    /// Deletes upload sessions not changed for `days` before `now`; returns how many.
    pub fn sweep_uploads(&self, days: u32, now: OffsetDateTime) -> Result<usize, StoreError> {
        let cutoff = cutoff(now, days);
        let mut deleted = 0;
        let mut after = String::new();
        loop {
            let ids = self.uploads_untouched_since(cutoff, &after, BATCH)?;
            let Some(last) = ids.last() else {
                return Ok(deleted);
            };
            after = last.to_string();
            for id in ids {
                if let Some(def) = self.delete_upload(id)? {
                    deleted += 1;
                    tracing::info!(upload = %id, files = def.files.len(), "retention: deleted an upload session");
                }
            }
        }
    }

    /// One round of housekeeping at `now`; `days` is `retention_days` (None keeps
    /// everything).
    pub fn housekeep(&self, days: Option<u32>, now: OffsetDateTime) -> Result<(), StoreError> {
        let removed = self.layout().clear_tmp(TMP_MAX_AGE);
        if removed > 0 {
            tracing::info!(files = removed, "removed leftover temporary uploads");
        }
        let orphans = self.clean_orphan_inputs(TMP_MAX_AGE)?;
        if orphans > 0 {
            tracing::info!(files = orphans, "removed input files no process refers to");
        }
        let runs = self.clean_orphan_runs()?;
        if runs > 0 {
            tracing::info!(
                directories = runs,
                "removed run directories no process refers to"
            );
        }
        let events = self.prune_events(now)?;
        if events > 0 {
            tracing::info!(events, "removed old events");
        }
        if let Some(days) = days {
            let processes = self.sweep_processes(days, now)?;
            let uploads = self.sweep_uploads(days, now)?;
            if processes + uploads > 0 {
                tracing::info!(processes, uploads, "retention sweep done");
            }
        }
        Ok(())
    }
}
