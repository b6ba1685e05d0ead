//! Ports: what the runner needs from persistence. `process-store` implements this for SQLite
//! and PostgreSQL; an embedder can implement it over its own storage.

use time::OffsetDateTime;

use crate::file::ProcessFile;
use crate::ids::ProcessId;
use crate::lifecycle::Transition;
use crate::output::OutputLine;
use crate::process::Process;
use crate::status::ProcessStatus;

pub trait ProcessRepository: Send + Sync + 'static {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies `t` as a compare-and-set on the stored status. `None` when the process is gone
    /// or its status no longer allows `t` (another node or a stop got there first).
    fn transition(&self, id: ProcessId, t: &Transition) -> Result<Option<Process>, Self::Error>;

    /// SCHEDULED processes whose start time has come and whose dependencies have all
    /// finished (successfully or not), oldest first.
    fn due(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Process>, Self::Error>;

    /// The earliest future start time of a SCHEDULED process, to sleep until.
    fn next_start_time(&self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, Self::Error>;

    /// The status of each id, None where the process no longer exists.
    fn statuses(&self, ids: &[ProcessId]) -> Result<Vec<Option<ProcessStatus>>, Self::Error>;

    /// Every RUNNING process.
    fn running(&self) -> Result<Vec<Process>, Self::Error>;

    fn set_executor_job_id(&self, id: ProcessId, job: &str) -> Result<(), Self::Error>;

    /// The sequence number of the last stored output line (0 when there is none).
    fn last_output_seq(&self, id: ProcessId) -> Result<i64, Self::Error>;

    /// Appends captured lines (with their sequence numbers) in one transaction.
    fn append_output(&self, id: ProcessId, lines: &[OutputLine]) -> Result<(), Self::Error>;

    fn set_progress(&self, id: ProcessId, percent: u8) -> Result<(), Self::Error>;

    fn set_output_truncated(&self, id: ProcessId) -> Result<(), Self::Error>;

    /// Every file registered for a process.
    fn files(&self, id: ProcessId) -> Result<Vec<ProcessFile>, Self::Error>;

    fn add_files(&self, files: &[ProcessFile]) -> Result<(), Self::Error>;
}
