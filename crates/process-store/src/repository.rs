//! The core's ports, implemented by the store under the same names as its own methods.

use process_core::{
    Claim, NodeName, OutputBatch, OutputLine, OutputLog, OutputRange, Process, ProcessFile,
    ProcessId, ProcessRepository, Transition,
};
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::Store;

impl ProcessRepository for Store {
    type Error = StoreError;

    fn transition(&self, id: ProcessId, t: &Transition) -> Result<Option<Process>, StoreError> {
        Store::transition(self, id, t)
    }

    fn claim(&self, node: &NodeName, now: OffsetDateTime, limit: u32) -> Result<Claim, StoreError> {
        Store::claim(self, node, now, limit)
    }

    fn next_start_time(&self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, StoreError> {
        Store::next_start_time(self, now)
    }

    fn running_on(&self, node: &NodeName) -> Result<Vec<Process>, StoreError> {
        Store::running_on(self, node)
    }

    fn set_executor_job_id(&self, id: ProcessId, job: &str) -> Result<(), StoreError> {
        Store::set_executor_job_id(self, id, job)
    }

    fn set_progress(&self, id: ProcessId, percent: u8) -> Result<(), StoreError> {
        Store::set_progress(self, id, percent)
    }

    fn set_output_truncated(&self, id: ProcessId) -> Result<(), StoreError> {
        Store::set_output_truncated(self, id)
    }

    fn files(&self, id: ProcessId) -> Result<Vec<ProcessFile>, StoreError> {
        Store::files(self, id)
    }

    fn add_files(&self, files: &[ProcessFile]) -> Result<(), StoreError> {
        Store::add_files(self, files)
    }
}

impl OutputLog for Store {
    type Error = StoreError;

    fn append_output(&self, id: ProcessId, lines: &[OutputLine]) -> Result<(), StoreError> {
        Store::append_output(self, id, lines)
    }

    fn append_batch(&self, id: ProcessId, batch: &OutputBatch) -> Result<(), StoreError> {
        Store::append_output_batch(self, id, batch)
    }

    fn read_output(
        &self,
        id: ProcessId,
        range: &OutputRange,
        limit: u32,
    ) -> Result<Vec<OutputLine>, StoreError> {
        Store::read_output(self, id, *range, limit)
    }

    fn last_output_seq(&self, id: ProcessId) -> Result<i64, StoreError> {
        Store::last_output_seq(self, id)
    }

    fn remove_output(&self, id: ProcessId) -> Result<(), StoreError> {
        Store::remove_output(self, id)
    }

    fn close_output(&self, id: ProcessId) -> Result<(), StoreError> {
        Store::close_output(self, id)
    }
}
