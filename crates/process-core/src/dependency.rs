//! When a process that depends on others may run.

use crate::status::{DependencyType, ProcessStatus};

/// What the scheduler should do with a due process, given its dependencies' statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    Wait,
    /// An `afterok` dependency failed (or vanished): fail without running.
    Fail,
}

/// `deps` holds the status of each dependency, or None for one that no longer exists.
pub fn readiness(ty: DependencyType, deps: &[Option<ProcessStatus>]) -> Readiness {
    let mut waiting = false;
    for dep in deps {
        match (ty, dep) {
            (DependencyType::AfterOk, Some(ProcessStatus::Failed) | None) => {
                return Readiness::Fail
            }
            (DependencyType::AfterOk, Some(ProcessStatus::Completed)) => {}
            (DependencyType::AfterAny, Some(s)) if s.is_terminal() => {}
            (DependencyType::AfterAny, None) => {}
            _ => waiting = true,
        }
    }
    if waiting {
        Readiness::Wait
    } else {
        Readiness::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DependencyType::*;
    use ProcessStatus::*;

    #[test]
    fn readiness_table() {
        let cases: &[(DependencyType, &[Option<ProcessStatus>], Readiness)] = &[
            (AfterOk, &[], Readiness::Ready),
            (
                AfterOk,
                &[Some(Completed), Some(Completed)],
                Readiness::Ready,
            ),
            (AfterOk, &[Some(Completed), Some(Running)], Readiness::Wait),
            (AfterOk, &[Some(Running), Some(Failed)], Readiness::Fail),
            (AfterOk, &[None], Readiness::Fail),
            (AfterAny, &[Some(Failed), Some(Completed)], Readiness::Ready),
            (AfterAny, &[Some(Failed), Some(Scheduled)], Readiness::Wait),
            (AfterAny, &[None], Readiness::Ready),
        ];
        for (ty, deps, expected) in cases {
            assert_eq!(readiness(*ty, deps), *expected, "{ty} {deps:?}");
        }
    }
}
