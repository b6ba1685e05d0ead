//! Events: what changed about a process, as a subscriber (the live event stream, a webhook)
//! is told. The store records one in the same transaction as the change it describes, so an
//! event exists exactly when its change does.

use time::OffsetDateTime;

use crate::lifecycle::Transition;
use crate::process::Process;

string_enum!(
    /// What happened to a process (the event kinds clients subscribe to).
    #[non_exhaustive]
    EventKind, "event type" {
        Created => "process.created",
        Running => "process.running",
        Progress => "process.progress",
        Completed => "process.completed",
        Failed => "process.failed",
        Deleted => "process.deleted",
    }
);

impl EventKind {
    /// The event a transition makes.
    pub fn of(t: &Transition) -> Self {
        match t {
            Transition::Start { .. } => EventKind::Running,
            Transition::Complete { .. } => EventKind::Completed,
            Transition::Cancel { .. } | Transition::Fail { .. } => EventKind::Failed,
        }
    }
}

/// One recorded event: its id orders all events (ids grow in commit order), and `process`
/// is the process as it was right after the change (as it was before, for a deletion).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    pub time: OffsetDateTime,
    pub process: Process,
}

impl Event {
    pub fn new(id: i64, kind: EventKind, time: OffsetDateTime, process: Process) -> Self {
        Self {
            id,
            kind,
            time,
            process,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::StatusReason;

    #[test]
    fn transitions_name_their_event() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let start = Transition::Start {
            at,
            executor_job_id: None,
        };
        assert_eq!(EventKind::of(&start), EventKind::Running);
        assert_eq!(
            EventKind::of(&Transition::Complete { at }),
            EventKind::Completed
        );
        assert_eq!(EventKind::of(&Transition::Cancel { at }), EventKind::Failed);
        let fail = Transition::Fail {
            at,
            reason: StatusReason::Timeout,
            exit_code: None,
        };
        assert_eq!(EventKind::of(&fail), EventKind::Failed);
    }

    #[test]
    fn kinds_have_their_pinned_names() {
        let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "process.created",
                "process.running",
                "process.progress",
                "process.completed",
                "process.failed",
                "process.deleted"
            ]
        );
        assert!("process.exploded".parse::<EventKind>().is_err());
    }
}
