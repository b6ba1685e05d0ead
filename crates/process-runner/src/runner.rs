//! The runner: a scheduler loop that starts due processes while slots are free, one task per
//! running process, stop requests and crash recovery.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use process_core::dependency::{readiness, Readiness};
use process_core::{
    Catalog, OutputLine, Process, ProcessId, ProcessRepository, ProcessStatus, StatusReason,
    Stream, Transition,
};
use process_datadir::{collect_outputs, Layout};
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, watch, Notify};

use crate::blocking::blocking;
use crate::capture::{capture, Live, LIVE_BATCHES};
use crate::executor::{Event, Executor, Outcome};
use crate::prepare::{prepare, BaseEnv};

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Processes running at once on this node.
    pub max_concurrent: usize,
    /// Output captured per process before it is cut.
    pub max_output_bytes: u64,
    /// How often the scheduler looks for work even when nothing woke it (work made due by
    /// other nodes, dependencies finished elsewhere).
    pub poll_interval: Duration,
    pub base_env: BaseEnv,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 4,
            max_output_bytes: 64 * 1024 * 1024,
            poll_interval: Duration::from_secs(5),
            base_env: BaseEnv::from_service(),
        }
    }
}

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

struct Active {
    stop: watch::Sender<bool>,
    /// Set when the stop comes from a shutdown rather than a user: the process then ends
    /// FAILED `interrupted`, not `stopped`.
    interrupted: Arc<AtomicBool>,
    live: Live,
}

struct Inner<R: ProcessRepository> {
    repo: Arc<R>,
    layout: Layout,
    catalog: Arc<Catalog>,
    executor: Arc<dyn Executor>,
    config: RunnerConfig,
    wake: Notify,
    /// Set by `drain`: no new process is started.
    draining: AtomicBool,
    /// Notified whenever a run ends.
    ended: Notify,
    /// Output lines stored since start.
    lines_captured: Arc<std::sync::atomic::AtomicU64>,
    active: Mutex<HashMap<ProcessId, Active>>,
}

/// Runs processes. Cheap to clone; all clones share one scheduler.
pub struct Runner<R: ProcessRepository> {
    inner: Arc<Inner<R>>,
}

impl<R: ProcessRepository> Clone for Runner<R> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn service_line(seq: i64, text: String) -> OutputLine {
    OutputLine {
        seq,
        time: now(),
        stream: Stream::Stderr,
        line: format!("[processd: {text}]"),
    }
}

impl<R: ProcessRepository> Runner<R> {
    pub fn new(
        repo: Arc<R>,
        layout: Layout,
        catalog: Arc<Catalog>,
        executor: Arc<dyn Executor>,
        config: RunnerConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                repo,
                layout,
                catalog,
                executor,
                config,
                wake: Notify::new(),
                draining: AtomicBool::new(false),
                ended: Notify::new(),
                lines_captured: Arc::default(),
                active: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn active(&self) -> MutexGuard<'_, HashMap<ProcessId, Active>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts
        // and removes), so a poisoned lock is still usable.
        self.inner
            .active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks the scheduler to look for work now (after a launch).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Output lines this node has stored since it started.
    pub fn lines_captured(&self) -> u64 {
        self.inner.lines_captured.load(Ordering::Relaxed)
    }

    /// Processes running on this node.
    pub fn running_count(&self) -> usize {
        self.active().len()
    }

    /// The batches of output lines stored from now on, while the process runs here. The
    /// channel closes once the run has ended and everything about it is recorded.
    pub fn follow(&self, id: ProcessId) -> Option<broadcast::Receiver<Arc<Vec<OutputLine>>>> {
        self.active().get(&id).map(|a| a.live.subscribe())
    }

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
                    tracing::error!(error = %e, "scheduler could not read the store");
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

    /// Starts due processes while slots are free; returns the next future start time.
    async fn fill_slots(&self) -> Result<Option<OffsetDateTime>, R::Error> {
        if self.is_draining() {
            return Ok(None);
        }
        let repo = &self.inner.repo;
        let t = now();
        let mut free = self
            .inner
            .config
            .max_concurrent
            .saturating_sub(self.running_count());
        // One trip to the blocking pool for both reads: hand-offs between threads, not the
        // queries, dominate the cost of a launch.
        let (due, next) = blocking(repo, move |r| {
            let due = if free > 0 { r.due(t, 500)? } else { Vec::new() };
            Ok((due, r.next_start_time(t)?))
        })
        .await?;
        for process in due {
            if free == 0 {
                break;
            }
            if self.try_start(process).await? {
                free -= 1;
            }
        }
        Ok(next)
    }

    /// Starts one due process if its dependencies allow and this node wins the claim.
    async fn try_start(&self, process: Process) -> Result<bool, R::Error> {
        let repo = &self.inner.repo;
        let id = process.id;
        if !process.depends_on.is_empty() {
            let deps = process.depends_on.clone();
            let statuses = blocking(repo, move |r| r.statuses(&deps)).await?;
            match readiness(process.dependency_type, &statuses) {
                Readiness::Wait => return Ok(false),
                Readiness::Fail => {
                    let failed: Vec<String> = process
                        .depends_on
                        .iter()
                        .zip(&statuses)
                        .filter(|(_, s)| **s != Some(ProcessStatus::Completed))
                        .map(|(d, _)| d.to_string())
                        .collect();
                    let line = service_line(
                        1,
                        format!("not run: dependency {} did not complete", failed.join(", ")),
                    );
                    let t = Transition::Fail {
                        at: now(),
                        reason: StatusReason::Dependency,
                        exit_code: None,
                    };
                    blocking(repo, move |r| {
                        if r.transition(id, &t)?.is_some() {
                            r.append_output(id, &[line])?;
                        }
                        Ok(())
                    })
                    .await?;
                    self.wake();
                    return Ok(false);
                }
                Readiness::Ready => {}
            }
        }
        // Reserve the slot before claiming, so a stop arriving during the claim finds it.
        let (stop_tx, stop_rx) = watch::channel(false);
        let (live, _) = broadcast::channel(LIVE_BATCHES);
        let interrupted = Arc::new(AtomicBool::new(false));
        self.active().insert(
            id,
            Active {
                stop: stop_tx,
                interrupted: Arc::clone(&interrupted),
                live: live.clone(),
            },
        );
        let t = Transition::Start {
            at: now(),
            executor_job_id: None,
        };
        let claimed = match blocking(repo, move |r| r.transition(id, &t)).await {
            Ok(c) => c,
            Err(e) => {
                self.active().remove(&id);
                return Err(e);
            }
        };
        let Some(process) = claimed else {
            self.active().remove(&id);
            return Ok(false);
        };
        let runner = self.clone();
        tokio::spawn(async move {
            let inner = tokio::spawn({
                let runner = runner.clone();
                async move { runner.run(process, stop_rx, live, interrupted).await }
            });
            if let Err(e) = inner.await {
                tracing::error!(process = %id, error = %e, "run task failed");
                runner
                    .finish(id, Outcome::SpawnFailed(format!("internal error: {e}")), 0)
                    .await;
            }
            runner.active().remove(&id);
            runner.inner.ended.notify_waiters();
            runner.wake();
        });
        Ok(true)
    }

    /// Runs a claimed (RUNNING) process to its end and records the result.
    async fn run(
        &self,
        process: Process,
        stop: watch::Receiver<bool>,
        live: Live,
        interrupted: Arc<AtomicBool>,
    ) {
        let id = process.id;
        let repo = &self.inner.repo;
        let Some(script) = self.inner.catalog.get(process.script.as_str()).cloned() else {
            let msg = format!("script {} is no longer configured", process.script);
            self.finish(id, Outcome::SpawnFailed(msg), 0).await;
            return;
        };
        let layout = self.inner.layout.clone();
        let base = self.inner.config.base_env.clone();
        let prepared = {
            let (process, repo) = (process.clone(), Arc::clone(repo));
            tokio::task::spawn_blocking(move || {
                let files = repo
                    .files(id)
                    .map_err(|e| format!("cannot read input files: {e}"))?;
                prepare(&layout, &script, &process, &files, &base)
                    .map_err(|e| format!("cannot prepare the run: {e}"))
            })
            .await
        };
        let job = match prepared {
            Ok(Ok(job)) => job,
            Ok(Err(msg)) => {
                self.finish(id, Outcome::SpawnFailed(msg), 0).await;
                return;
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        if *stop.borrow() {
            self.finish(id, Outcome::Stopped, 0).await;
            return;
        }
        let (tx, rx) = mpsc::channel::<Event>(8_192);
        let capturing = tokio::spawn(capture(
            Arc::clone(repo),
            id,
            rx,
            self.inner.config.max_output_bytes,
            live,
            Arc::clone(&self.inner.lines_captured),
        ));
        let mut outcome = self.inner.executor.run(job, tx, stop).await;
        if outcome == Outcome::Stopped && interrupted.load(Ordering::SeqCst) {
            outcome = Outcome::Interrupted;
        }
        let summary = match capturing.await {
            Ok(s) => s,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        self.finish(id, outcome, summary.last_seq).await;
    }

    /// Registers output files, writes a closing line for anything but a clean exit, and
    /// applies the final transition.
    async fn finish(&self, id: ProcessId, outcome: Outcome, last_seq: i64) {
        let t = now();
        let (transition, note) = match &outcome {
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
            Outcome::SpawnFailed(msg) => (fail(t, StatusReason::Spawn, None), Some(msg.clone())),
        };
        let layout = self.inner.layout.clone();
        let outputs = tokio::task::spawn_blocking(move || collect_outputs(&layout, id, t)).await;
        let outputs = match outputs {
            Ok(Ok(files)) => files,
            Ok(Err(e)) => {
                tracing::error!(process = %id, error = %e, "could not read the output directory");
                Vec::new()
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let line = note.map(|n| service_line(last_seq + 1, n));
        // Retried with backoff until recorded: a process must not stay RUNNING because the
        // store hiccupped at its end. Steps already done are not repeated.
        let mut pending = (line, Some(outputs));
        let mut delay = Duration::from_millis(100);
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            let (state, t) = (pending.clone(), transition.clone());
            let (state, step) = blocking(&self.inner.repo, move |r| {
                let (mut line, mut files) = state;
                let step = (|| {
                    if let Some(l) = &line {
                        r.append_output(id, std::slice::from_ref(l))?;
                        line = None;
                    }
                    if let Some(f) = &files {
                        r.add_files(f)?;
                        files = None;
                    }
                    r.transition(id, &t)
                })();
                Ok(((line, files), step))
            })
            .await
            .unwrap_or_else(|e| (pending.clone(), Err(e)));
            pending = state;
            match step {
                Err(e) if attempt < 8 => {
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

    /// Stops a process: a running one is terminated (SIGTERM, grace, SIGKILL) and ends FAILED
    /// `stopped`; a scheduled one is failed without running.
    pub async fn stop(&self, id: ProcessId) -> Result<StopResult, R::Error> {
        if let Some(active) = self.active().get(&id) {
            active.stop.send_replace(true);
            return Ok(StopResult::Stopping);
        }
        let t = Transition::Cancel { at: now() };
        let cancelled = blocking(&self.inner.repo, move |r| {
            let done = r.transition(id, &t)?;
            if done.is_some() {
                r.append_output(
                    id,
                    &[service_line(1, "stopped before it started".to_owned())],
                )?;
            }
            Ok(done)
        })
        .await?;
        if cancelled.is_some() {
            self.wake();
            return Ok(StopResult::Cancelled);
        }
        // The scheduler may have claimed it meanwhile.
        if let Some(active) = self.active().get(&id) {
            active.stop.send_replace(true);
            return Ok(StopResult::Stopping);
        }
        Ok(StopResult::AlreadyFinished)
    }

    /// Stops starting new processes (launches are still stored and wait as SCHEDULED).
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Shuts the runner down: no new starts, running processes get `grace` to finish, then
    /// their process groups are stopped (SIGTERM, then SIGKILL) and they end FAILED
    /// `interrupted` with their output flushed. Returns once every run has been recorded.
    pub async fn shutdown(&self, grace: Duration) {
        self.drain();
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
                tracing::error!("runs did not end after their process groups were stopped");
                break;
            }
        }
    }

    /// Resolves processes left RUNNING by a previous run of this node: a process group still
    /// alive is killed, and each ends FAILED `interrupted` with a line saying so. Never re-runs
    /// anything. Returns the ids it resolved.
    pub async fn recover(&self) -> Result<Vec<ProcessId>, R::Error> {
        let stale = blocking(&self.inner.repo, |r| r.running()).await?;
        let mut resolved = Vec::new();
        for p in stale {
            if self.active().contains_key(&p.id) {
                continue;
            }
            let killed = p
                .executor_job_id
                .as_deref()
                .and_then(crate::procinfo::live_group)
                .inspect(|pgid| {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(*pgid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                });
            let id = p.id;
            let note = match killed {
                Some(pgid) => format!(
                    "interrupted: processd restarted while this ran; its process group {pgid} was killed"
                ),
                None => "interrupted: processd stopped while this ran".to_owned(),
            };
            let t = fail(now(), StatusReason::Interrupted, None);
            let layout = self.inner.layout.clone();
            let at = now();
            let outputs = tokio::task::spawn_blocking(move || collect_outputs(&layout, id, at))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            let done = blocking(&self.inner.repo, move |r| {
                let last = r.last_output_seq(id)?;
                r.append_output(id, &[service_line(last + 1, note)])?;
                r.add_files(&outputs)?;
                r.transition(id, &t)
            })
            .await?;
            if done.is_some() {
                tracing::warn!(process = %id, "marked interrupted after a restart");
                resolved.push(id);
            }
        }
        Ok(resolved)
    }
}

fn fail(at: OffsetDateTime, reason: StatusReason, exit_code: Option<i32>) -> Transition {
    Transition::Fail {
        at,
        reason,
        exit_code,
    }
}
