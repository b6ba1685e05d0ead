//! The runner: the scheduler loop that claims due processes while slots are free
//! (`schedule`), one task per running process (`run`), and the node's own lifecycle: stop
//! requests, drain, shutdown and recovery after a restart (`node`).

mod node;
mod run;
mod schedule;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use process_core::{Catalog, NodeName, OutputLine, OutputLog, ProcessId, ProcessRepository};
use process_datadir::Layout;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch, Notify};

pub use node::StopResult;

use crate::blocking::blocking;
use crate::capture::Live;
use crate::capture::LIVE_BATCHES;
use crate::error::RunnerError;
use crate::executor::{Executors, Outcome, StopSignal};
use crate::prepare::BaseEnv;

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The node this runner claims processes for.
    pub node: NodeName,
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
            node: NodeName::new("local"),
            max_concurrent: 4,
            max_output_bytes: 64 * 1024 * 1024,
            poll_interval: Duration::from_secs(5),
            base_env: BaseEnv::from_service(),
        }
    }
}

/// What a run holds of its registration: its stop signal, the feed for live followers, and
/// whether a stop came from a shutdown.
struct Registration {
    stop: StopSignal,
    live: Live,
    interrupted: Arc<AtomicBool>,
}

impl Registration {
    /// A stop during a shutdown ends the process `interrupted`, not `stopped`.
    fn outcome(&self, outcome: Outcome) -> Outcome {
        match outcome {
            Outcome::Stopped if self.interrupted.load(Ordering::SeqCst) => Outcome::Interrupted,
            other => other,
        }
    }
}

/// A process running on this node.
struct Active {
    stop: watch::Sender<bool>,
    /// Set when the stop comes from a shutdown rather than a user: the process then ends
    /// FAILED `interrupted`, not `stopped`.
    interrupted: Arc<AtomicBool>,
    live: Live,
}

struct Inner<R, O> {
    repo: Arc<R>,
    log: Arc<O>,
    layout: Layout,
    catalog: Arc<Catalog>,
    executors: Executors,
    config: RunnerConfig,
    wake: Notify,
    /// Held while claimed processes are being registered as active, and by a stop while it
    /// decides, so a stop never falls between a claim and the registration.
    claiming: tokio::sync::Mutex<()>,
    /// Set by `drain`: no new process is started.
    draining: AtomicBool,
    /// Notified whenever a run ends.
    ended: Notify,
    /// Output lines stored since start.
    lines_captured: Arc<AtomicU64>,
    active: Mutex<HashMap<ProcessId, Active>>,
}

/// Runs processes. Cheap to clone; all clones share one scheduler.
pub struct Runner<R, O> {
    inner: Arc<Inner<R, O>>,
}

impl<R, O> Clone for Runner<R, O> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A line processd itself writes into a process's console log.
fn service_line(seq: i64, text: String) -> OutputLine {
    OutputLine::service(seq, now(), &text)
}

impl<R: ProcessRepository, O: OutputLog> Runner<R, O> {
    pub fn new(
        repo: Arc<R>,
        log: Arc<O>,
        layout: Layout,
        catalog: Arc<Catalog>,
        executors: Executors,
        config: RunnerConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                repo,
                log,
                layout,
                catalog,
                executors,
                config,
                wake: Notify::new(),
                claiming: tokio::sync::Mutex::new(()),
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

    /// Adds a process to the active set: from here a stop reaches it and followers see its
    /// batches.
    fn register(&self, id: ProcessId) -> Registration {
        let (stop_tx, stop) = watch::channel(false);
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
        Registration {
            stop,
            live,
            interrupted,
        }
    }

    /// Runs `f` against the process repository on the blocking pool.
    async fn repo<T, F>(&self, f: F) -> Result<T, RunnerError>
    where
        T: Send + 'static,
        F: FnOnce(&R) -> Result<T, R::Error> + Send + 'static,
    {
        blocking(&self.inner.repo, f)
            .await
            .map_err(|e| RunnerError::Repository(Box::new(e)))
    }

    /// Runs `f` against the output log on the blocking pool.
    async fn log<T, F>(&self, f: F) -> Result<T, RunnerError>
    where
        T: Send + 'static,
        F: FnOnce(&O) -> Result<T, O::Error> + Send + 'static,
    {
        blocking(&self.inner.log, f)
            .await
            .map_err(|e| RunnerError::Output(Box::new(e)))
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
}
