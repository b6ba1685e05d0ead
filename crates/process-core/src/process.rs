//! A process: one run (past, present or future) of a script.

use time::OffsetDateTime;

use crate::ids::{ProcessId, UserId};
use crate::lifecycle::{Transition, TransitionError};
use crate::params::Param;
use crate::script::ScriptName;
use crate::status::{DependencyType, ProcessStatus, StatusReason};

/// A tracked process. Its status is private: it changes only through [`Process::apply`] (or
/// is restored from storage: [`Process::stored`], or a serialized snapshot with `serde`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Process {
    pub id: ProcessId,
    /// None for a process started anonymously.
    pub owner: Option<UserId>,
    pub script: ScriptName,
    status: ProcessStatus,
    pub creation_time: OffsetDateTime,
    pub start_time: Option<OffsetDateTime>,
    pub end_time: Option<OffsetDateTime>,
    pub parameters: Vec<Param>,
    pub percent_complete: Option<u8>,
    pub status_reason: Option<StatusReason>,
    pub exit_code: Option<i32>,
    /// Do not start before this time.
    pub not_before: Option<OffsetDateTime>,
    pub depends_on: Vec<ProcessId>,
    pub dependency_type: DependencyType,
    pub executor_job_id: Option<String>,
    pub output_truncated: bool,
    /// For a process started anonymously, the SHA-256 (hex) of the capability its launch
    /// answered with; the capability itself is never stored.
    pub access_hash: Option<String>,
}

impl Process {
    /// A process as loaded from storage, in whatever status it was stored.
    pub fn stored(
        id: ProcessId,
        owner: Option<UserId>,
        script: ScriptName,
        status: ProcessStatus,
        creation_time: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            owner,
            script,
            status,
            creation_time,
            start_time: None,
            end_time: None,
            parameters: Vec::new(),
            percent_complete: None,
            status_reason: None,
            exit_code: None,
            not_before: None,
            depends_on: Vec::new(),
            dependency_type: DependencyType::AfterOk,
            executor_job_id: None,
            output_truncated: false,
            access_hash: None,
        }
    }

    pub fn status(&self) -> ProcessStatus {
        self.status
    }

    /// Applies a transition, recording its facts; illegal transitions change nothing.
    pub fn apply(&mut self, t: &Transition) -> Result<(), TransitionError> {
        self.status = t.check(self.status)?;
        match t {
            Transition::Start {
                at,
                executor_job_id,
            } => {
                self.start_time = Some(*at);
                self.executor_job_id.clone_from(executor_job_id);
            }
            Transition::Complete { at } => {
                self.end_time = Some(*at);
                self.exit_code = Some(0);
                self.percent_complete = Some(100);
            }
            Transition::Cancel { at } => {
                self.end_time = Some(*at);
                self.status_reason = Some(StatusReason::Stopped);
            }
            Transition::Fail {
                at,
                reason,
                exit_code,
            } => {
                self.end_time = Some(*at);
                self.status_reason = Some(*reason);
                self.exit_code = *exit_code;
            }
        }
        Ok(())
    }
}

/// What is known of a process before the store gives it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProcess {
    pub owner: Option<UserId>,
    pub script: ScriptName,
    pub creation_time: OffsetDateTime,
    pub parameters: Vec<Param>,
    pub not_before: Option<OffsetDateTime>,
    pub depends_on: Vec<ProcessId>,
    pub dependency_type: DependencyType,
    /// See [`Process::access_hash`].
    pub access_hash: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_records_facts_and_refuses_illegal_moves() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut p = Process::stored(
            ProcessId::new(1).unwrap(),
            None,
            ScriptName::parse("x").unwrap(),
            ProcessStatus::Scheduled,
            t0,
        );
        assert!(p.apply(&Transition::Complete { at: t0 }).is_err());
        assert_eq!(p.status(), ProcessStatus::Scheduled);
        p.apply(&Transition::Start {
            at: t0,
            executor_job_id: Some("42".into()),
        })
        .unwrap();
        assert_eq!(p.status(), ProcessStatus::Running);
        assert_eq!(p.executor_job_id.as_deref(), Some("42"));
        p.apply(&Transition::Fail {
            at: t0,
            reason: StatusReason::Timeout,
            exit_code: None,
        })
        .unwrap();
        assert_eq!(p.status(), ProcessStatus::Failed);
        assert_eq!(p.status_reason, Some(StatusReason::Timeout));
        assert_eq!(p.end_time, Some(t0));
    }
}
