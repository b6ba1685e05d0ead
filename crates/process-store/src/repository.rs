//! The core's `ProcessRepository` port, implemented by the store.

use process_core::{
    OutputLine, Process, ProcessFile, ProcessId, ProcessRepository, ProcessStatus, Transition,
};
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::Store;

impl ProcessRepository for Store {
    type Error = StoreError;

    fn transition(&self, id: ProcessId, t: &Transition) -> Result<Option<Process>, StoreError> {
        self.apply_transition(id, t)
    }

    fn due(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Process>, StoreError> {
        self.due_processes(now, limit)
    }

    fn next_start_time(&self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, StoreError> {
        self.earliest_start(now)
    }

    fn statuses(&self, ids: &[ProcessId]) -> Result<Vec<Option<ProcessStatus>>, StoreError> {
        self.status_of(ids)
    }

    fn running(&self) -> Result<Vec<Process>, StoreError> {
        self.running_processes()
    }

    fn set_executor_job_id(&self, id: ProcessId, job: &str) -> Result<(), StoreError> {
        self.update_executor_job_id(id, job)
    }

    fn last_output_seq(&self, id: ProcessId) -> Result<i64, StoreError> {
        self.last_seq(id)
    }

    fn append_output(&self, id: ProcessId, lines: &[OutputLine]) -> Result<(), StoreError> {
        Store::append_output(self, id, lines)
    }

    fn set_progress(&self, id: ProcessId, percent: u8) -> Result<(), StoreError> {
        self.update_progress(id, percent)
    }

    fn set_output_truncated(&self, id: ProcessId) -> Result<(), StoreError> {
        self.mark_output_truncated(id)
    }

    fn files(&self, id: ProcessId) -> Result<Vec<ProcessFile>, StoreError> {
        self.all_files(id)
    }

    fn add_files(&self, files: &[ProcessFile]) -> Result<(), StoreError> {
        self.insert_files(files)
    }
}
