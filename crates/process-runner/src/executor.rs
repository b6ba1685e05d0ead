//! The executor port: how a prepared job runs somewhere and is reported back. The local
//! executor runs it as a child process group; a batch-system executor submits it and polls.
//!
//! The runner drives every executor the same way: [`Executor::start`] returns as soon as the
//! job has an id, which the runner records durably before it waits for the end
//! ([`RunningJob::wait`]); a job of an earlier life of the node is handed to
//! [`Executor::recover`], which says whether it is gone, was killed, or is followed again.
//! Job ids are `<executor name>:<executor's own id>` (`local:4242:1234567`, `slurm:17`), so a
//! recovered job finds its executor by the prefix.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use process_core::{ProcessId, Script, Stream};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use crate::error::SpawnError;

/// Everything needed to run one process.
#[derive(Debug, Clone)]
pub struct Job {
    pub process: ProcessId,
    pub argv: Vec<String>,
    /// The complete environment (nothing is inherited).
    pub env: BTreeMap<String, String>,
    pub work_dir: PathBuf,
    /// The run's own directories (working, output, temporary), which a confined script may
    /// read and write.
    pub writable: Vec<PathBuf>,
    /// The directories of the script's command, which a confined script may read.
    pub readable: Vec<PathBuf>,
    pub timeout: Option<Duration>,
}

/// How a run ended. Exits, signal deaths and timeouts stay distinct.
#[derive(Debug)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
    TimedOut,
    Stopped,
    /// Stopped because this node shut down, or found still running after a restart.
    Interrupted,
    /// The job could not be started.
    SpawnFailed(SpawnError),
}

/// The lines of one read of a job's stream (without their newlines) in one buffer, with the
/// time of that read: one message and no allocation per line.
#[derive(Debug)]
pub struct RawLines {
    pub stream: Stream,
    pub time: OffsetDateTime,
    data: Vec<u8>,
    /// Where each line ends in `data`, and whether it was cut at the line limit.
    ends: Vec<(usize, bool)>,
}

impl RawLines {
    pub fn with_capacity(stream: Stream, time: OffsetDateTime, lines: usize, bytes: usize) -> Self {
        Self {
            stream,
            time,
            data: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(lines),
        }
    }

    /// One line, read now.
    pub fn one(stream: Stream, line: &[u8], cut: bool) -> Self {
        let mut read = Self::with_capacity(stream, OffsetDateTime::now_utc(), 1, line.len());
        read.push(line, cut);
        read
    }

    pub fn push(&mut self, line: &[u8], cut: bool) {
        self.data.extend_from_slice(line);
        self.ends.push((self.data.len(), cut));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each line's bytes and whether it was cut.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], bool)> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(end, cut)| {
            let line = &self.data[start..end];
            start = end;
            (line, cut)
        })
    }
}

/// Where a job's lines go, a read at a time. Bounded: a fast writer waits for the store rather
/// than growing memory.
pub type Lines = mpsc::Sender<RawLines>;

/// Becomes `true` when the job should be stopped.
pub type StopSignal = watch::Receiver<bool>;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pub trait Executor: Send + Sync + 'static {
    /// Starts `job` and returns once it has an id; its lines go to `lines` until it ends.
    fn start(&self, job: Job, lines: Lines) -> BoxFuture<Result<Box<dyn RunningJob>, SpawnError>>;

    /// Stops the job with this id, wherever it runs (best effort; a job already gone is fine).
    fn cancel(&self, job_id: &str) -> BoxFuture<()>;

    /// What became of a job this node started in an earlier life. A job followed again sends
    /// its further lines to `lines`.
    fn recover(&self, process: ProcessId, job_id: &str, lines: Lines) -> BoxFuture<Recovered>;
}

/// A started job.
pub trait RunningJob: Send {
    /// The id to record as `executorJobId`.
    fn job_id(&self) -> &str;

    /// Waits for the end, stopping the job when `stop` says so. Returns only after every line
    /// of the job has been sent.
    fn wait(self: Box<Self>, stop: StopSignal) -> BoxFuture<Outcome>;
}

/// What [`Executor::recover`] found.
pub enum Recovered {
    /// Nothing of the job runs any more.
    Gone,
    /// Parts of it were still running and have been killed; the text says what.
    Killed(String),
    /// It still runs and is followed again to its real end.
    Reattached(Box<dyn RunningJob>),
}

/// The executors of a node by name, and the one scripts get when they name none.
#[derive(Clone)]
pub struct Executors {
    default: String,
    by_name: HashMap<String, Arc<dyn Executor>>,
}

impl Executors {
    /// A set with one executor, which is the default.
    pub fn new(name: impl Into<String>, executor: Arc<dyn Executor>) -> Self {
        let name = name.into();
        Self {
            by_name: HashMap::from([(name.clone(), executor)]),
            default: name,
        }
    }

    /// Adds (or replaces) an executor.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, executor: Arc<dyn Executor>) -> Self {
        self.by_name.insert(name.into(), executor);
        self
    }

    /// Makes `name` the default; it must have been added.
    pub fn default_to(mut self, name: &str) -> Result<Self, SpawnError> {
        if !self.by_name.contains_key(name) {
            return Err(SpawnError::NoExecutor(name.to_owned()));
        }
        name.clone_into(&mut self.default);
        Ok(self)
    }

    /// Whether an executor of this name is configured.
    pub fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The executor that runs `script`.
    pub fn for_script(&self, script: &Script) -> Result<Arc<dyn Executor>, SpawnError> {
        let name = script.executor.as_deref().unwrap_or(&self.default);
        self.by_name
            .get(name)
            .cloned()
            .ok_or_else(|| SpawnError::NoExecutor(name.to_owned()))
    }

    /// The executor that started the job with this id.
    pub fn for_job(&self, job_id: &str) -> Option<Arc<dyn Executor>> {
        let (name, _) = job_id.split_once(':')?;
        self.by_name.get(name).cloned()
    }
}
