//! One run: prepare the working directory, start the job on its executor, record the job id
//! while it runs and capture its output until it ends, then record the end (output files, a
//! closing line, the final transition), retried until the store takes it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use process_core::{OutputLog, Process, ProcessId, ProcessRepository, StatusReason, Transition};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::{now, service_line, Registration, Runner};
use crate::capture::{capture, Live, Sink};
use crate::error::{RunnerError, SpawnError};
use crate::executor::{Outcome, RawLines, RunningJob, StopSignal};
use crate::prepare::prepare;
use process_datadir::collect_outputs;

/// Reads (of up to 64 KiB each) a job may be ahead of the store before its pumps wait.
pub(super) const READ_BUFFER: usize = 32;
/// Attempts to record the end of a run before it is left for the next start to resolve.
const FINISH_ATTEMPTS: u32 = 8;

impl<R: ProcessRepository, O: OutputLog> Runner<R, O> {
    /// Runs a claimed (RUNNING) process to its end and records the result.
    pub(super) async fn run(&self, process: Process, registration: Registration) {
        let id = process.id;
        let (outcome, last_seq) = self
            .execute(
                process,
                registration.stop.clone(),
                registration.live.clone(),
            )
            .await;
        self.finish(id, registration.outcome(outcome), last_seq)
            .await;
    }

    /// Prepares and starts the job, then follows it; returns how it ended and the last
    /// stored line.
    async fn execute(&self, process: Process, stop: StopSignal, live: Live) -> (Outcome, i64) {
        let id = process.id;
        let Some(script) = self.inner.catalog.get(process.script.as_str()).cloned() else {
            return spawn_failed(SpawnError::ScriptGone(process.script.clone()));
        };
        let executor = match self.inner.executors.for_script(&script) {
            Ok(e) => e,
            Err(e) => return spawn_failed(e),
        };
        let (repo, layout) = (Arc::clone(&self.inner.repo), self.inner.layout.clone());
        let base = self.inner.config.base_env.clone();
        // One trip to the blocking pool for reading the inputs and preparing the run.
        let prepared = tokio::task::spawn_blocking(move || {
            let files = repo
                .files(id)
                .map_err(|e| SpawnError::Inputs(Box::new(e)))?;
            prepare(&layout, &script, &process, &files, &base).map_err(SpawnError::Prepare)
        })
        .await;
        let job = match prepared {
            Ok(Ok(job)) => job,
            Ok(Err(e)) => return spawn_failed(e),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        if *stop.borrow() {
            return (Outcome::Stopped, 0);
        }
        let (tx, rx) = mpsc::channel::<RawLines>(READ_BUFFER);
        let capturing = tokio::spawn(capture(
            self.sink(live),
            id,
            rx,
            0,
            self.inner.config.max_output_bytes,
        ));
        let outcome = match executor.start(job, tx).await {
            Ok(job) => self.follow_job(id, job, stop).await,
            Err(e) => Outcome::SpawnFailed(e),
        };
        match capturing.await {
            Ok(summary) => (outcome, summary.last_seq),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Records the job's id, then waits for its end.
    pub(super) async fn follow_job(
        &self,
        id: ProcessId,
        job: Box<dyn RunningJob>,
        stop: StopSignal,
    ) -> Outcome {
        let job_id = job.job_id().to_owned();
        // Recorded while the job runs (not after it, so a restart finds a job that outlives
        // this node), and beside the wait rather than before it: a short job ends sooner.
        // Both are done before the end is recorded.
        let record = async {
            if let Err(e) = self.repo(move |r| r.set_executor_job_id(id, &job_id)).await {
                tracing::error!(process = %id, error = %e, "could not record the job id");
            }
        };
        let ((), outcome) = tokio::join!(record, job.wait(stop));
        outcome
    }

    pub(super) fn sink(&self, live: Live) -> Sink<R, O> {
        Sink {
            repo: Arc::clone(&self.inner.repo),
            log: Arc::clone(&self.inner.log),
            live,
            counter: Arc::clone(&self.inner.lines_captured),
        }
    }

    /// Registers output files, writes a closing line for anything but a clean exit, and
    /// applies the final transition.
    pub(super) async fn finish(&self, id: ProcessId, outcome: Outcome, last_seq: i64) {
        let t = now();
        let (transition, note) = ending(&outcome, t);
        // Retried with backoff until recorded: a process must not stay RUNNING because the
        // store hiccupped at its end. Steps already done are not repeated.
        let mut line = note.map(|n| service_line(last_seq + 1, n));
        let mut closed = false;
        // Set once the outputs are registered, from the blocking pool.
        let registered = Arc::new(AtomicBool::new(false));
        let mut delay = Duration::from_millis(100);
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            let step: Result<Option<Process>, RunnerError> = async {
                if let Some(l) = line.clone() {
                    self.log(move |o| o.append_output(id, &[l])).await?;
                    line = None;
                }
                // Every line is durable before the status says the run is over.
                if !closed {
                    self.log(move |o| o.close_output(id)).await?;
                    closed = true;
                }
                let (layout, transition) = (self.inner.layout.clone(), transition.clone());
                let registered = Arc::clone(&registered);
                // Outputs and the transition on one trip to the blocking pool: at the end
                // of a short run, hand-offs between threads cost more than the work.
                self.repo(move |r| {
                    if !registered.load(Ordering::Acquire) {
                        r.add_files(&outputs(&layout, id, t))?;
                        registered.store(true, Ordering::Release);
                    }
                    r.transition(id, &transition)
                })
                .await
            }
            .await;
            match step {
                Err(e) if attempt < FINISH_ATTEMPTS => {
                    tracing::warn!(process = %id, error = %e, attempt, "recording the end failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                other => break other,
            }
        };
        match result {
            Ok(Some(p)) => tracing::info!(process = %id, status = %p.status(), "process finished"),
            Ok(None) => {
                tracing::warn!(process = %id, "process was no longer RUNNING when it finished")
            }
            Err(e) => {
                tracing::error!(process = %id, error = %e, "could not record the end of a process; it stays RUNNING until the next start resolves it")
            }
        }
    }
}

/// The files the run left in its output directory; none if it cannot be read.
fn outputs(
    layout: &process_datadir::Layout,
    id: ProcessId,
    t: OffsetDateTime,
) -> Vec<process_core::ProcessFile> {
    collect_outputs(layout, id, t).unwrap_or_else(|e| {
        tracing::error!(process = %id, error = %e, "could not read the output directory");
        Vec::new()
    })
}

fn spawn_failed(e: SpawnError) -> (Outcome, i64) {
    (Outcome::SpawnFailed(e), 0)
}

/// The final transition of an outcome, and the closing line for anything but a clean exit.
fn ending(outcome: &Outcome, t: OffsetDateTime) -> (Transition, Option<String>) {
    match outcome {
        Outcome::Exited(0) => (Transition::Complete { at: t }, None),
        Outcome::Exited(code) => (
            fail(t, StatusReason::Exit, Some(*code)),
            Some(format!("exited with code {code}")),
        ),
        Outcome::Signaled(sig) => (
            fail(t, StatusReason::Signal, None),
            Some(format!("killed by signal {sig}")),
        ),
        Outcome::TimedOut => (
            fail(t, StatusReason::Timeout, None),
            Some("timed out (max_clock_time); its process group was terminated".to_owned()),
        ),
        Outcome::Stopped => (
            fail(t, StatusReason::Stopped, None),
            Some("stopped on request".to_owned()),
        ),
        Outcome::Interrupted => (
            fail(t, StatusReason::Interrupted, None),
            Some("interrupted: processd shut down while this ran".to_owned()),
        ),
        Outcome::SpawnFailed(e) => (fail(t, StatusReason::Spawn, None), Some(e.to_string())),
    }
}

pub(super) fn fail(at: OffsetDateTime, reason: StatusReason, exit_code: Option<i32>) -> Transition {
    Transition::Fail {
        at,
        reason,
        exit_code,
    }
}
