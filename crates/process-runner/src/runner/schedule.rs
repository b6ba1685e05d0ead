//! Scheduling: claim due processes while slots are free, fail those whose dependencies can
//! no longer be met, and start one run task per claimed process.

use std::time::Duration;

use process_core::{OutputLog, Process, ProcessRepository, Unmet};
use time::OffsetDateTime;

use super::{now, service_line, Runner};
use crate::error::{RunnerError, SpawnError};
use crate::executor::Outcome;

impl<R: ProcessRepository, O: OutputLog> Runner<R, O> {
    /// Starts the scheduler loop on the current tokio runtime.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let runner = self.clone();
        tokio::spawn(async move { runner.schedule_forever().await })
    }

    async fn schedule_forever(&self) {
        loop {
            let next = match self.fill_slots().await {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(error = %e, "scheduler could not claim work");
                    None
                }
            };
            let mut sleep = self.inner.config.poll_interval;
            if let Some(at) = next {
                let until = (at - now()).max(time::Duration::ZERO);
                sleep = sleep.min(Duration::try_from(until).unwrap_or(sleep));
            }
            tokio::select! {
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Claims due processes for the free slots and starts them; returns the next future start
    /// time.
    async fn fill_slots(&self) -> Result<Option<OffsetDateTime>, RunnerError> {
        let claiming = self.inner.claiming.lock().await;
        // Checked under the lock, which a shutdown takes after draining: a claim either
        // registers its processes before the shutdown looks at the active set, or sees the
        // drain and claims nothing.
        if self.is_draining() {
            return Ok(None);
        }
        let free = self
            .inner
            .config
            .max_concurrent
            .saturating_sub(self.running_count());
        let free = u32::try_from(free).unwrap_or(u32::MAX);
        let node = self.inner.config.node.clone();
        let t = now();
        // One trip to the blocking pool for both: hand-offs between threads, not the
        // queries, dominate the cost of a launch.
        let (claim, next) = self
            .repo(move |r| {
                let claim = if free > 0 {
                    r.claim(&node, t, free)?
                } else {
                    process_core::Claim::default()
                };
                Ok((claim, r.next_start_time(t)?))
            })
            .await?;
        for process in claim.started {
            self.start(process);
        }
        drop(claiming);
        if !claim.unmet.is_empty() {
            // They took no slot: there may be more to claim.
            self.wake();
            for unmet in claim.unmet {
                self.note_unmet(unmet).await?;
            }
        }
        Ok(next)
    }

    /// Writes why a process failed without running.
    async fn note_unmet(&self, unmet: Unmet) -> Result<(), RunnerError> {
        let failed: Vec<String> = unmet.dependencies.iter().map(ToString::to_string).collect();
        let line = service_line(
            1,
            format!("not run: dependency {} did not complete", failed.join(", ")),
        );
        let id = unmet.process.id;
        self.log(move |o| o.append_output(id, &[line])).await
    }

    /// Registers a claimed (RUNNING) process and runs it on a task of its own.
    fn start(&self, process: Process) {
        let id = process.id;
        let registration = self.register(id);
        let runner = self.clone();
        self.supervise(id, async move { runner.run(process, registration).await });
    }

    /// Runs `work` (a run, to its recorded end) on its own task; a panic in it still records
    /// the end. The process leaves the active set afterwards.
    pub(super) fn supervise(
        &self,
        id: process_core::ProcessId,
        work: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let runner = self.clone();
        tokio::spawn(async move {
            if let Err(e) = tokio::spawn(work).await {
                tracing::error!(process = %id, error = %e, "run task failed");
                let outcome = Outcome::SpawnFailed(SpawnError::Internal(e.to_string()));
                let last = runner
                    .log(move |o| o.last_output_seq(id))
                    .await
                    .unwrap_or(0);
                runner.finish(id, outcome, last).await;
            }
            runner.active().remove(&id);
            runner.inner.ended.notify_waiters();
            runner.wake();
        });
    }
}
