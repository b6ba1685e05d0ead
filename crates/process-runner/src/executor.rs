//! The executor port: how a prepared job is run somewhere and reported back. The local
//! executor runs it as a child process group; a batch system (Slurm) submits it and polls.
//! Both report through the same [`Events`] sink and end with the same [`Outcome`].

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use process_core::{ProcessId, Stream};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

/// Everything needed to run one process.
#[derive(Debug, Clone)]
pub struct Job {
    pub process: ProcessId,
    pub argv: Vec<String>,
    /// The complete environment (nothing is inherited).
    pub env: BTreeMap<String, String>,
    pub work_dir: PathBuf,
    pub timeout: Option<Duration>,
}

/// How a run ended. Exits, signal deaths and timeouts stay distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
    TimedOut,
    Stopped,
    /// Stopped because this node shut down.
    Interrupted,
    /// The job could not be started; the message says why.
    SpawnFailed(String),
}

/// What an executor reports while a job runs.
#[derive(Debug)]
pub enum Event {
    /// The executor's id for the job (a pid, a Slurm job id), for `executorJobId`.
    JobId(String),
    /// One line (without its newline); `cut` when it was longer than the line limit.
    Line {
        stream: Stream,
        bytes: Vec<u8>,
        time: OffsetDateTime,
        cut: bool,
    },
}

/// The sending half of a job's event channel. Bounded: a fast writer waits for the store
/// rather than growing memory.
pub type Events = mpsc::Sender<Event>;

/// Becomes `true` when the job should be stopped.
pub type StopSignal = watch::Receiver<bool>;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pub trait Executor: Send + Sync + 'static {
    /// Runs `job` to its end, sending events as they happen. Must not return before every
    /// event of the job has been sent.
    fn run(&self, job: Job, events: Events, stop: StopSignal) -> BoxFuture<Outcome>;
}
