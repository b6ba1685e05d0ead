//! Ports: what the runner and the API need from persistence. `process-store` implements them:
//! process rows in SQLite or PostgreSQL, console logs as files in the data directory; an
//! embedder can implement them over its own storage (the
//! runner's own tests use an in-memory implementation).
//!
//! Two ports, because they are two kinds of data that may live in two places: the process
//! rows ([`ProcessRepository`]) and each process's console log ([`OutputLog`]).

use time::OffsetDateTime;

use crate::file::ProcessFile;
use crate::ids::ProcessId;
use crate::lifecycle::Transition;
use crate::output::{OutputBatch, OutputLine, OutputRange};
use crate::process::Process;

/// The node that claims and runs processes. Processes a node claims are its own: after a
/// restart it recovers only those ([`ProcessRepository::running_on`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeName(String);

impl NodeName {
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NodeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A due process whose dependencies can no longer be met (an `afterok` dependency failed or
/// vanished). The claim has already failed it (`dependency`) without running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    pub process: Process,
    /// The dependencies that did not complete.
    pub dependencies: Vec<ProcessId>,
}

/// What one claim did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    /// Processes now RUNNING on the claiming node, oldest first.
    pub started: Vec<Process>,
    /// Processes now FAILED `dependency`.
    pub unmet: Vec<Unmet>,
}

pub trait ProcessRepository: Send + Sync + 'static {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies `t` as a compare-and-set on the stored status. `None` when the process is gone
    /// or its status no longer allows `t` (another node or a stop got there first).
    fn transition(&self, id: ProcessId, t: &Transition) -> Result<Option<Process>, Self::Error>;

    /// Claims up to `limit` SCHEDULED processes whose start time has come and whose
    /// dependencies have all finished, oldest first, for `node`, as one write: each one whose
    /// dependencies allow it is started (RUNNING at `now`), each whose dependencies can no
    /// longer be met is failed (`dependency`). Processes waiting for unfinished dependencies are
    /// neither claimed nor counted against `limit`. No process is ever claimed twice.
    fn claim(&self, node: &NodeName, now: OffsetDateTime, limit: u32)
        -> Result<Claim, Self::Error>;

    /// The earliest future start time of a SCHEDULED process, to sleep until.
    fn next_start_time(&self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, Self::Error>;

    /// The RUNNING processes `node` claimed.
    fn running_on(&self, node: &NodeName) -> Result<Vec<Process>, Self::Error>;

    /// Records the executor's id for a started job (a pid, a batch-system job id).
    fn set_executor_job_id(&self, id: ProcessId, job: &str) -> Result<(), Self::Error>;

    fn set_progress(&self, id: ProcessId, percent: u8) -> Result<(), Self::Error>;

    fn set_output_truncated(&self, id: ProcessId) -> Result<(), Self::Error>;

    /// Every file registered for a process.
    fn files(&self, id: ProcessId) -> Result<Vec<ProcessFile>, Self::Error>;

    fn add_files(&self, files: &[ProcessFile]) -> Result<(), Self::Error>;
}

/// The console log of each process: written by the capture, read by the API (whole, by
/// range, or followed live), removed with the process.
pub trait OutputLog: Send + Sync + 'static {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Appends lines, numbered by the caller from 1 without gaps, as one write that survives
    /// the service being killed (durable against power loss after `close_output`). Lines a
    /// retried call already stored are not stored twice.
    fn append_output(&self, id: ProcessId, lines: &[OutputLine]) -> Result<(), Self::Error>;

    /// [`append_output`](Self::append_output) for a batch whose texts share one buffer (what
    /// capture writes). Implementations that can store it without a string per line should.
    fn append_batch(&self, id: ProcessId, batch: &OutputBatch) -> Result<(), Self::Error> {
        self.append_output(id, &batch.to_lines())
    }

    /// Up to `limit` lines in `range`, in capture order.
    fn read_output(
        &self,
        id: ProcessId,
        range: &OutputRange,
        limit: u32,
    ) -> Result<Vec<OutputLine>, Self::Error>;

    /// The sequence number of the last stored line (0 when there is none).
    fn last_output_seq(&self, id: ProcessId) -> Result<i64, Self::Error>;

    /// Removes a process's whole log.
    fn remove_output(&self, id: ProcessId) -> Result<(), Self::Error>;

    /// Makes every line appended so far durable (an fsync for a file). The runner calls it
    /// when a run's capture has ended, before it records the final status. A log whose
    /// appends are already durable has nothing to do.
    fn close_output(&self, id: ProcessId) -> Result<(), Self::Error> {
        let _ = id;
        Ok(())
    }
}
