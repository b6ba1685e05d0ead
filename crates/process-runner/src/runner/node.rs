//! The node's own lifecycle: stop requests, drain and shutdown, and recovery of the
//! processes an earlier life of this node left RUNNING.

use std::sync::atomic::Ordering;
use std::time::Duration;

use process_core::{OutputLog, Process, ProcessId, ProcessRepository, StatusReason, Transition};
use tokio::sync::mpsc;

use super::run::fail;
use super::{now, service_line, Runner};
use crate::capture::capture;
use crate::error::RunnerError;
use crate::executor::{RawLines, Recovered, RunningJob};
use process_datadir::collect_outputs;

/// What a stop request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopResult {
    /// The process was running here; it is being terminated.
    Stopping,
    /// It had not started; it is now FAILED without having run.
    Cancelled,
    /// It had already finished (or is not known here).
    AlreadyFinished,
}

impl<R: ProcessRepository, O: OutputLog> Runner<R, O> {
    /// Stops a process: a running one is terminated (SIGTERM, grace, SIGKILL) and ends FAILED
    /// `stopped`; a scheduled one is failed without running.
    pub async fn stop(&self, id: ProcessId) -> Result<StopResult, RunnerError> {
        // No claim is between the store and the active set while this is held.
        let _claiming = self.inner.claiming.lock().await;
        if let Some(active) = self.active().get(&id) {
            active.stop.send_replace(true);
            return Ok(StopResult::Stopping);
        }
        let t = Transition::Cancel { at: now() };
        if self.repo(move |r| r.transition(id, &t)).await?.is_none() {
            return Ok(StopResult::AlreadyFinished);
        }
        let line = service_line(1, "stopped before it started".to_owned());
        self.log(move |o| o.append_output(id, &[line])).await?;
        self.wake();
        Ok(StopResult::Cancelled)
    }

    /// Stops starting new processes (launches are still stored and wait as SCHEDULED).
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Shuts the runner down: no new starts, running processes get `grace` to finish, then
    /// their jobs are stopped (SIGTERM, then SIGKILL) and they end FAILED `interrupted` with
    /// their output flushed. Returns once every run has been recorded.
    pub async fn shutdown(&self, grace: Duration) {
        self.drain();
        // Waits out a claim already under way, so what it claimed is in the active set
        // (and interrupted below) instead of starting once this has returned.
        drop(self.inner.claiming.lock().await);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let ended = self.inner.ended.notified();
            tokio::pin!(ended);
            // Registered before the check, so an end in between is not missed.
            ended.as_mut().enable();
            if self.running_count() == 0 || tokio::time::timeout_at(deadline, ended).await.is_err()
            {
                break;
            }
        }
        let remaining: Vec<ProcessId> = {
            let active = self.active();
            for a in active.values() {
                a.interrupted.store(true, Ordering::SeqCst);
                a.stop.send_replace(true);
            }
            active.keys().copied().collect()
        };
        if !remaining.is_empty() {
            tracing::warn!(
                count = remaining.len(),
                "interrupting running processes for shutdown"
            );
        }
        loop {
            let ended = self.inner.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.running_count() == 0 {
                break;
            }
            // The executor escalates to SIGKILL itself; this bound only guards against a
            // run that can no longer record its end (a dead database).
            if tokio::time::timeout(Duration::from_secs(60), ended)
                .await
                .is_err()
            {
                tracing::error!("runs did not end after their jobs were stopped");
                break;
            }
        }
    }

    /// Resolves the processes an earlier life of this node left RUNNING. Each job's executor
    /// says what became of it: one it follows again runs on to its real end; any other ends
    /// FAILED `interrupted` with a line saying so (whatever of it still ran is killed). Never
    /// re-runs anything. Returns the ids it resolved as interrupted.
    pub async fn recover(&self) -> Result<Vec<ProcessId>, RunnerError> {
        let node = self.inner.config.node.clone();
        let stale = self.repo(move |r| r.running_on(&node)).await?;
        let mut resolved = Vec::new();
        for p in stale {
            if self.active().contains_key(&p.id) {
                continue;
            }
            let id = p.id;
            let last = self.log(move |o| o.last_output_seq(id)).await?;
            let executor = match p.executor_job_id.as_deref() {
                Some(job) => self
                    .inner
                    .executors
                    .for_job(job)
                    .map(|e| (job.to_owned(), e)),
                // A crash between starting the job and recording its id: the script's executor
                // may still find what it started (the local one by the run's cgroup).
                None => self
                    .inner
                    .catalog
                    .get(p.script.as_str())
                    .and_then(|s| self.inner.executors.for_script(s).ok())
                    .map(|e| (String::new(), e)),
            };
            let (tx, rx) = mpsc::channel::<RawLines>(super::run::READ_BUFFER);
            let recovered = match executor {
                Some((job, e)) => e.recover(id, &job, tx).await,
                None => Recovered::Gone,
            };
            let note = match recovered {
                Recovered::Reattached(job) => {
                    tracing::info!(process = %id, "following a job again after a restart");
                    self.reattach(p, job, rx, last);
                    continue;
                }
                Recovered::Killed(what) => {
                    format!("interrupted: processd restarted while this ran; {what}")
                }
                Recovered::Gone => "interrupted: processd stopped while this ran".to_owned(),
            };
            if self.interrupt(id, last, note).await?.is_some() {
                tracing::warn!(process = %id, "marked interrupted after a restart");
                resolved.push(id);
            }
        }
        Ok(resolved)
    }

    /// Ends a process found RUNNING after a restart: its output files, a closing line, FAILED
    /// `interrupted`.
    async fn interrupt(
        &self,
        id: ProcessId,
        last: i64,
        note: String,
    ) -> Result<Option<Process>, RunnerError> {
        let layout = self.inner.layout.clone();
        let at = now();
        let outputs = tokio::task::spawn_blocking(move || collect_outputs(&layout, id, at))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let line = service_line(last + 1, note);
        // The log is durable before the status says the run is over, as in `finish`.
        self.log(move |o| {
            o.append_output(id, &[line])?;
            o.close_output(id)
        })
        .await?;
        self.repo(move |r| {
            // A crash after the end's files were added but before its transition: those
            // files are registered already and must not be twice.
            let known: std::collections::HashSet<String> =
                r.files(id)?.into_iter().map(|f| f.storage_path).collect();
            let fresh: Vec<_> = outputs
                .into_iter()
                .filter(|f| !known.contains(&f.storage_path))
                .collect();
            r.add_files(&fresh)?;
            r.transition(id, &fail(now(), StatusReason::Interrupted, None))
        })
        .await
    }

    /// Follows a job of an earlier life again, as if this node had started it: live output,
    /// stop and the recorded end work as for any run.
    fn reattach(
        &self,
        process: Process,
        job: Box<dyn RunningJob>,
        lines: mpsc::Receiver<RawLines>,
        last_seq: i64,
    ) {
        let id = process.id;
        let registration = self.register(id);
        let runner = self.clone();
        self.supervise(id, async move {
            let max = runner.inner.config.max_output_bytes;
            let sink = runner.sink(registration.live.clone());
            let capturing = tokio::spawn(capture(sink, id, lines, last_seq, max));
            let outcome = job.wait(registration.stop.clone()).await;
            let last = match capturing.await {
                Ok(summary) => summary.last_seq,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
            runner.finish(id, registration.outcome(outcome), last).await;
        });
    }
}
