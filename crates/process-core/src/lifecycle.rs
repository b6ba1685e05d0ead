//! The process lifecycle. A process's status changes only through a [`Transition`]; each
//! transition names the statuses it may start from, so the store can apply it as a
//! compare-and-set and any node that lost a race learns it from the row count.

use time::OffsetDateTime;

use crate::status::{ProcessStatus, StatusReason};

/// A change of a process's status, with the facts recorded alongside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// SCHEDULED → RUNNING.
    Start {
        at: OffsetDateTime,
        executor_job_id: Option<String>,
    },
    /// RUNNING → COMPLETED (exit code 0).
    Complete { at: OffsetDateTime },
    /// SCHEDULED → FAILED with reason `stopped`: a stop that reached the process before it
    /// ran. Unlike `Fail` it never touches a RUNNING process, whose stop belongs to the node
    /// that runs it.
    Cancel { at: OffsetDateTime },
    /// SCHEDULED | RUNNING → FAILED.
    Fail {
        at: OffsetDateTime,
        reason: StatusReason,
        exit_code: Option<i32>,
    },
}

/// A transition asked of a process whose status does not allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {event} a {from} process")]
pub struct TransitionError {
    pub from: ProcessStatus,
    pub event: &'static str,
}

impl Transition {
    pub fn event(&self) -> &'static str {
        match self {
            Transition::Start { .. } => "start",
            Transition::Complete { .. } => "complete",
            Transition::Cancel { .. } => "cancel",
            Transition::Fail { .. } => "fail",
        }
    }

    /// When the transition happened.
    pub fn at(&self) -> OffsetDateTime {
        match self {
            Transition::Start { at, .. }
            | Transition::Complete { at }
            | Transition::Cancel { at }
            | Transition::Fail { at, .. } => *at,
        }
    }

    /// The statuses this transition may be applied to.
    pub fn sources(&self) -> &'static [ProcessStatus] {
        match self {
            Transition::Start { .. } => &[ProcessStatus::Scheduled],
            Transition::Complete { .. } => &[ProcessStatus::Running],
            Transition::Cancel { .. } => &[ProcessStatus::Scheduled],
            Transition::Fail { .. } => &[ProcessStatus::Scheduled, ProcessStatus::Running],
        }
    }

    pub fn target(&self) -> ProcessStatus {
        match self {
            Transition::Start { .. } => ProcessStatus::Running,
            Transition::Complete { .. } => ProcessStatus::Completed,
            Transition::Cancel { .. } | Transition::Fail { .. } => ProcessStatus::Failed,
        }
    }

    /// The status after applying this transition to a process in `from`.
    pub fn check(&self, from: ProcessStatus) -> Result<ProcessStatus, TransitionError> {
        if self.sources().contains(&from) {
            Ok(self.target())
        } else {
            Err(TransitionError {
                from,
                event: self.event(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProcessStatus::*;

    fn all_transitions() -> Vec<Transition> {
        let at = OffsetDateTime::UNIX_EPOCH;
        vec![
            Transition::Start {
                at,
                executor_job_id: None,
            },
            Transition::Complete { at },
            Transition::Cancel { at },
            Transition::Fail {
                at,
                reason: StatusReason::Exit,
                exit_code: Some(1),
            },
        ]
    }

    /// Every (state, event) pair: the expected next state, or None when illegal.
    #[test]
    fn every_state_event_pair() {
        let table: [(ProcessStatus, &str, Option<ProcessStatus>); 16] = [
            (Scheduled, "start", Some(Running)),
            (Scheduled, "complete", None),
            (Scheduled, "cancel", Some(Failed)),
            (Scheduled, "fail", Some(Failed)),
            (Running, "start", None),
            (Running, "complete", Some(Completed)),
            (Running, "cancel", None),
            (Running, "fail", Some(Failed)),
            (Completed, "start", None),
            (Completed, "complete", None),
            (Completed, "cancel", None),
            (Completed, "fail", None),
            (Failed, "start", None),
            (Failed, "complete", None),
            (Failed, "cancel", None),
            (Failed, "fail", None),
        ];
        for (from, event, expected) in table {
            let t = all_transitions()
                .into_iter()
                .find(|t| t.event() == event)
                .unwrap();
            match expected {
                Some(to) => assert_eq!(t.check(from), Ok(to), "{from} {event}"),
                None => assert_eq!(
                    t.check(from),
                    Err(TransitionError { from, event }),
                    "{from} {event}"
                ),
            }
        }
    }

    #[test]
    fn terminal_states_are_terminal() {
        for s in ProcessStatus::ALL {
            let leaves = all_transitions().iter().any(|t| t.check(*s).is_ok());
            assert_eq!(leaves, !s.is_terminal(), "{s}");
        }
    }

    #[test]
    fn error_reads_well() {
        let err = Transition::Complete {
            at: OffsetDateTime::UNIX_EPOCH,
        }
        .check(Failed)
        .unwrap_err();
        assert_eq!(err.to_string(), "cannot complete a FAILED process");
    }
}
