//! The `process_core::ProcessRepository` port as the runner uses it.

use process_core::{ProcessId, ProcessRepository, ProcessStatus, Transition};

use crate::{at, complete, create, each_backend, fail, ids, new_process, start};

#[test]
fn due_respects_not_before_and_order() {
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

        let due = store.due(now, 100).unwrap();
        assert_eq!(ids(&due), raw(&[unset, past, exactly_now]));
        assert!(due.iter().all(|p| p.status() == ProcessStatus::Scheduled));
        assert_eq!(ids(&store.due(now, 2).unwrap()), raw(&[unset, past]));
        assert_eq!(ids(&store.due(at(0), 100).unwrap()), raw(&[unset]));
        assert_eq!(
            ids(&store.due(at(1_000), 100).unwrap()),
            raw(&[later, unset, past, exactly_now, just_after])
        );

        // The next start time is the earliest future not_before of a SCHEDULED process.
        assert_eq!(store.next_start_time(now).unwrap(), Some(at(101)));
        assert_eq!(store.next_start_time(at(101)).unwrap(), Some(at(150)));
        assert_eq!(store.next_start_time(at(150)).unwrap(), None);
        assert_eq!(store.next_start_time(at(0)).unwrap(), Some(at(50)));
        // Once started early (or otherwise not SCHEDULED), a process no longer counts.
        start(store, just_after, 100).unwrap();
        assert_eq!(store.next_start_time(now).unwrap(), Some(at(150)));
        store
            .transition(later, &Transition::Cancel { at: now })
            .unwrap()
            .unwrap();
        assert_eq!(store.next_start_time(now).unwrap(), None);
    });
}

#[test]
fn the_runner_port_reads_and_updates_processes() {
    each_backend(|store| {
        let a = create(store, &new_process("s", at(1)));
        let b = create(store, &new_process("s", at(2)));
        let c = create(store, &new_process("s", at(3)));
        let missing = ProcessId::new(c.id.get() + 10).unwrap();

        assert_eq!(store.get_process(a.id).unwrap(), Some(a.clone()));
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
        start(store, c.id, 6).unwrap();
        complete(store, c.id, 7).unwrap();

        assert_eq!(
            store.statuses(&[c.id, missing, a.id, b.id]).unwrap(),
            vec![
                Some(ProcessStatus::Completed),
                None,
                Some(ProcessStatus::Scheduled),
                Some(ProcessStatus::Running)
            ]
        );
        assert!(store.statuses(&[]).unwrap().is_empty());

        assert_eq!(
            ids(&store.running().unwrap()),
            ids(std::slice::from_ref(&b))
        );

        store.set_executor_job_id(b.id, "pid-4242").unwrap();
        store.set_progress(b.id, 42).unwrap();
        store.set_output_truncated(b.id).unwrap();
        let b = store.get_process(b.id).unwrap().unwrap();
        assert_eq!(b.executor_job_id.as_deref(), Some("pid-4242"));
        assert_eq!(b.percent_complete, Some(42));
        assert!(b.output_truncated);
        assert_eq!(store.running().unwrap(), vec![b.clone()]);
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
        assert!(store.running().unwrap().is_empty());
    });
}

#[test]
fn due_leaves_out_processes_waiting_for_unfinished_dependencies() {
    each_backend(|store| {
        let parent = create(store, &new_process("parent", at(0))).id;
        start(store, parent, 1);
        let failed = create(store, &new_process("failed", at(0))).id;
        fail(store, failed, 1);
        // Many waiters first, then a ready process and one whose dependency failed.
        for i in 0..30 {
            let mut waiter = new_process("waiter", at(10 + i));
            waiter.depends_on = vec![parent];
            create(store, &waiter);
        }
        let ready = create(store, &new_process("ready", at(100))).id;
        let mut doomed = new_process("doomed", at(101));
        doomed.depends_on = vec![failed];
        let doomed = create(store, &doomed).id;
        let due: Vec<ProcessId> = store
            .due(at(1_000), 10)
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(due, [ready, doomed], "waiters must not fill the limit");
        // Once the parent finishes, its waiters are due.
        complete(store, parent, 2);
        assert_eq!(store.due(at(1_000), 100).unwrap().len(), 32);
    });
}
