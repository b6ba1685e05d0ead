//! The `process_core::ProcessRepository` port as the runner uses it: claims, recovery reads
//! and the bookkeeping of a run.

use std::collections::HashSet;

use process_core::{NodeName, ProcessId, ProcessStatus, StatusReason, Transition};

use crate::{at, complete, create, each_backend, fail, ids, new_process, start};

fn node() -> NodeName {
    NodeName::new("test-node")
}

#[test]
fn claims_start_due_processes_oldest_first() {
    each_backend(|store| {
        let now = at(100);
        let make = |not_before: Option<i64>, created: i64| {
            let mut new = new_process("s", at(created));
            new.not_before = not_before.map(at);
            create(store, &new).id
        };
        let raw = |ids: &[ProcessId]| ids.iter().map(|id| id.get()).collect::<Vec<_>>();
        // Creation times run backwards: "oldest first" is by id, the order of submission.
        let later = make(Some(150), 9);
        let unset = make(None, 8);
        let past = make(Some(50), 7);
        let exactly_now = make(Some(100), 6);
        let running = make(None, 5);
        let failed = make(Some(10), 4);
        let just_after = make(Some(101), 3);
        let completed = make(None, 2);
        start(store, running, 1).unwrap();
        fail(store, failed, 1).unwrap();
        start(store, completed, 1).unwrap();
        complete(store, completed, 2).unwrap();

        // The next start time is the earliest future not_before of a SCHEDULED process.
        assert_eq!(store.next_start_time(now).unwrap(), Some(at(101)));
        assert_eq!(store.next_start_time(at(101)).unwrap(), Some(at(150)));
        assert_eq!(store.next_start_time(at(150)).unwrap(), None);
        assert_eq!(store.next_start_time(at(0)).unwrap(), Some(at(50)));

        let first = store.claim(&node(), now, 2).unwrap();
        assert_eq!(ids(&first.started), raw(&[unset, past]));
        assert!(first.unmet.is_empty());
        for p in &first.started {
            assert_eq!(p.status(), ProcessStatus::Running);
            assert_eq!(p.start_time, Some(now));
        }
        // Claimed once only.
        let second = store.claim(&node(), now, 100).unwrap();
        assert_eq!(ids(&second.started), raw(&[exactly_now]));
        assert!(store.claim(&node(), now, 100).unwrap().started.is_empty());
        let late = store.claim(&node(), at(1_000), 100).unwrap();
        assert_eq!(ids(&late.started), raw(&[later, just_after]));
        assert_eq!(store.next_start_time(at(0)).unwrap(), None);
        assert!(store.claim(&node(), now, 0).unwrap().started.is_empty());
    });
}

#[test]
fn the_runner_port_reads_and_updates_processes() {
    each_backend(|store| {
        let a = create(store, &new_process("s", at(1)));
        let b = create(store, &new_process("s", at(2)));
        let missing = ProcessId::new(b.id.get() + 10).unwrap();
        assert_eq!(store.get_process(missing).unwrap(), None);

        let started = store
            .transition(
                b.id,
                &Transition::Start {
                    at: at(5),
                    executor_job_id: None,
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(started.executor_job_id, None);
        assert_eq!(
            ids(&store.running_on(&node()).unwrap()),
            ids(std::slice::from_ref(&b))
        );

        store.set_executor_job_id(b.id, "pid-4242").unwrap();
        store.set_progress(b.id, 42).unwrap();
        store.set_output_truncated(b.id).unwrap();
        let b = store.get_process(b.id).unwrap().unwrap();
        assert_eq!(b.executor_job_id.as_deref(), Some("pid-4242"));
        assert_eq!(b.percent_complete, Some(42));
        assert!(b.output_truncated);
        assert_eq!(store.running_on(&node()).unwrap(), vec![b.clone()]);
        // Other processes are untouched.
        let a = store.get_process(a.id).unwrap().unwrap();
        assert_eq!((a.percent_complete, a.output_truncated), (None, false));

        store.set_progress(b.id, 0).unwrap();
        assert_eq!(
            store.get_process(b.id).unwrap().unwrap().percent_complete,
            Some(0)
        );
        // Completion sets 100 %.
        let done = complete(store, b.id, 9).unwrap();
        assert_eq!(done.percent_complete, Some(100));
        assert!(done.output_truncated);
        assert!(store.running_on(&node()).unwrap().is_empty());
    });
}

#[test]
fn claims_skip_waiters_and_fail_unmet_dependencies() {
    each_backend(|store| {
        let parent = create(store, &new_process("parent", at(0))).id;
        start(store, parent, 1);
        let failed = create(store, &new_process("failed", at(0))).id;
        fail(store, failed, 1);
        let done = create(store, &new_process("done", at(0))).id;
        start(store, done, 1);
        complete(store, done, 2);
        // Many waiters first, then a ready process and one whose dependency failed.
        for i in 0..30 {
            let mut waiter = new_process("waiter", at(10 + i));
            waiter.depends_on = vec![parent];
            create(store, &waiter);
        }
        let ready = create(store, &new_process("ready", at(100))).id;
        let mut doomed = new_process("doomed", at(101));
        doomed.depends_on = vec![done, failed];
        let doomed = create(store, &doomed).id;
        let mut any = new_process("any", at(102));
        any.depends_on = vec![failed];
        any.dependency_type = process_core::DependencyType::AfterAny;
        let any = create(store, &any).id;

        let claim = store.claim(&node(), at(1_000), 10).unwrap();
        assert_eq!(
            ids(&claim.started),
            [ready.get(), any.get()],
            "waiters must not fill the limit"
        );
        assert_eq!(claim.unmet.len(), 1);
        assert_eq!(claim.unmet[0].process.id, doomed);
        assert_eq!(claim.unmet[0].dependencies, [failed]);
        let doomed = store.get_process(doomed).unwrap().unwrap();
        assert_eq!(doomed.status(), ProcessStatus::Failed);
        assert_eq!(doomed.status_reason, Some(StatusReason::Dependency));
        // Once the parent finishes, its waiters are due.
        complete(store, parent, 2);
        assert_eq!(
            store.claim(&node(), at(1_000), 100).unwrap().started.len(),
            30
        );
    });
}

#[test]
fn concurrent_claims_never_take_a_process_twice() {
    each_backend(|store| {
        for i in 0..200 {
            create(store, &new_process("s", at(i)));
        }
        let claimed: Vec<Vec<i64>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let claim = store.claim(&node(), at(1_000), 7).unwrap();
                            if claim.started.is_empty() {
                                return mine;
                            }
                            mine.extend(ids(&claim.started));
                        }
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let all: Vec<i64> = claimed.iter().flatten().copied().collect();
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 200, "every process claimed");
        assert_eq!(distinct.len(), 200, "none claimed twice");
    });
}

#[test]
fn claims_and_launches_that_depend_on_claimed_processes_do_not_deadlock() {
    each_backend(|store| {
        // Launches keep adding dependents of the newest process while claims take it: a claim's
        // row locks must not conflict with the key-share lock a dependency row takes.
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut last = create(store, &new_process("first", at(0))).id;
                for i in 0..150 {
                    let mut new = new_process("dependent", at(i));
                    new.depends_on = vec![last];
                    new.dependency_type = process_core::DependencyType::AfterAny;
                    let p = store
                        .create_process(&new, &[])
                        .unwrap_or_else(|e| panic!("launch {i}: {e}"));
                    last = if i % 2 == 0 {
                        p.id
                    } else {
                        create(store, &new_process("free", at(i))).id
                    };
                }
                done.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            s.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let claim = store.claim(&node(), at(1_000), 5).unwrap();
                    for p in claim.started {
                        complete(store, p.id, 1_001);
                    }
                }
            });
        });
    });
}
