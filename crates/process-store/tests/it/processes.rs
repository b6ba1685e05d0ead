use std::fs;

use process_core::OutputRange;
use process_core::{
    DependencyType, FileId, ListScope, OutputLine, Process, ProcessId, ProcessQuery, ProcessStatus,
    StatusReason, Stream, Transition,
};
use process_datadir::Layout;
use process_store::{NewFile, StoreError};

use crate::{at, complete, create, each_backend, fail, ids, new_process, param, start, user};

fn input(name: &str, secs: i64) -> NewFile {
    let id = FileId::from_uuid(uuid::Uuid::new_v4());
    NewFile {
        id,
        name: name.to_owned(),
        filetype: "inputFile".to_owned(),
        size_bytes: 5_000_000_000,
        md5: "d41d8cd98f00b204e9800998ecf8427e".to_owned(),
        storage_path: Layout::input_storage_path(id),
        creation_time: at(secs),
    }
}

#[test]
fn a_created_process_reads_back_with_every_field() {
    each_backend(|store| {
        let alice = user(store, "alice");
        let dep_a = create(store, &new_process("prepare", at(1)));
        let dep_b = create(store, &new_process("prepare", at(2)));

        let mut new = new_process("import", at(3));
        new.owner = Some(alice.id);
        new.parameters = vec![
            param("-f", "data.csv"),
            param("-s", "a; rm -rf / \u{e9}\u{1f600} 'quoted' \"too\""),
            param("-v", "true"),
            param("-e", ""),
        ];
        new.not_before = Some(at(100));
        new.depends_on = vec![dep_a.id, dep_b.id];
        new.dependency_type = DependencyType::AfterAny;
        let inputs = [input("data.csv", 3), input("other.txt", 3)];

        let created = store.create_process(&new, &inputs).unwrap();
        assert!(created.id > dep_b.id);

        let mut expected = Process::stored(
            created.id,
            Some(alice.id),
            new.script.clone(),
            ProcessStatus::Scheduled,
            at(3),
        );
        expected.parameters = new.parameters.clone();
        expected.not_before = Some(at(100));
        expected.depends_on = vec![dep_a.id, dep_b.id];
        expected.dependency_type = DependencyType::AfterAny;
        assert_eq!(created, expected);
        assert_eq!(created.start_time, None);
        assert_eq!(created.end_time, None);
        assert_eq!(created.percent_complete, None);
        assert_eq!(created.status_reason, None);
        assert_eq!(created.exit_code, None);
        assert_eq!(created.executor_job_id, None);
        assert!(!created.output_truncated);
        assert_eq!(store.get_process(created.id).unwrap(), Some(expected));

        // The inputs are registered with the new process's id.
        let mut files = store.files(created.id).unwrap();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let want: Vec<_> = inputs.iter().map(|f| f.for_process(created.id)).collect();
        assert_eq!(files, want);

        // An anonymous process with nothing else keeps its defaults.
        let anon = create(store, &new_process("cleanup", at(4)));
        let fetched = store.get_process(anon.id).unwrap().unwrap();
        assert_eq!(fetched.owner, None);
        assert!(fetched.parameters.is_empty());
        assert!(fetched.depends_on.is_empty());
        assert_eq!(fetched.dependency_type, DependencyType::AfterOk);
        assert_eq!(fetched.not_before, None);

        let missing = ProcessId::new(anon.id.get() + 1000).unwrap();
        assert_eq!(store.get_process(missing).unwrap(), None);
        let got = store
            .get_processes(&[anon.id, missing, dep_a.id, created.id])
            .unwrap();
        assert_eq!(ids(&got), ids(&[dep_a, created, anon]));
        assert!(store.get_processes(&[]).unwrap().is_empty());
    });
}

#[test]
fn a_failed_create_leaves_nothing_behind() {
    each_backend(|store| {
        let before = create(store, &new_process("a", at(1)));
        // A dependency on a process that does not exist breaks a foreign key.
        let mut new = new_process("b", at(2));
        new.parameters = vec![param("-x", "1")];
        new.depends_on = vec![ProcessId::new(before.id.get() + 500).unwrap()];
        let file = input("in.csv", 2);
        assert!(store
            .create_process(&new, std::slice::from_ref(&file))
            .is_err());
        assert_eq!(store.get_file(file.id).unwrap(), None);
        let all = store
            .list_processes(&ProcessQuery::new(ListScope::All))
            .unwrap();
        assert_eq!(ids(&all.items), ids(&[before]));
    });
}

#[test]
fn transitions_are_compare_and_set() {
    each_backend(|store| {
        let p = create(store, &new_process("s", at(1)));

        let started = store
            .transition(
                p.id,
                &Transition::Start {
                    at: at(10),
                    executor_job_id: Some("job-7".to_owned()),
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(started.status(), ProcessStatus::Running);
        assert_eq!(started.start_time, Some(at(10)));
        assert_eq!(started.executor_job_id.as_deref(), Some("job-7"));

        // A second start loses: the row is no longer SCHEDULED, and nothing changes.
        assert_eq!(start(store, p.id, 11), None);
        assert_eq!(store.get_process(p.id).unwrap(), Some(started.clone()));
        // A cancel only reaches SCHEDULED processes.
        assert_eq!(
            store
                .transition(p.id, &Transition::Cancel { at: at(12) })
                .unwrap(),
            None
        );

        let done = complete(store, p.id, 20).unwrap();
        assert_eq!(done.status(), ProcessStatus::Completed);
        assert_eq!(done.start_time, Some(at(10)));
        assert_eq!(done.end_time, Some(at(20)));
        assert_eq!(done.exit_code, Some(0));
        assert_eq!(done.percent_complete, Some(100));
        assert_eq!(done.status_reason, None);
        // Terminal: nothing moves it any more.
        assert_eq!(fail(store, p.id, 21), None);
        assert_eq!(complete(store, p.id, 21), None);
        assert_eq!(start(store, p.id, 21), None);
        assert_eq!(store.get_process(p.id).unwrap(), Some(done));

        // RUNNING → FAILED, then a late completion loses.
        let q = create(store, &new_process("s", at(2)));
        start(store, q.id, 10).unwrap();
        let failed = store
            .transition(
                q.id,
                &Transition::Fail {
                    at: at(15),
                    reason: StatusReason::Signal,
                    exit_code: Some(137),
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(failed.status(), ProcessStatus::Failed);
        assert_eq!(failed.status_reason, Some(StatusReason::Signal));
        assert_eq!(failed.exit_code, Some(137));
        assert_eq!(failed.end_time, Some(at(15)));
        assert_eq!(complete(store, q.id, 16), None);
        assert_eq!(
            store.get_process(q.id).unwrap().unwrap().status(),
            ProcessStatus::Failed
        );

        // SCHEDULED → FAILED (a dependency failed) never started.
        let r = create(store, &new_process("s", at(3)));
        let never = store
            .transition(
                r.id,
                &Transition::Fail {
                    at: at(30),
                    reason: StatusReason::Dependency,
                    exit_code: None,
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(never.status(), ProcessStatus::Failed);
        assert_eq!(never.start_time, None);
        assert_eq!(never.end_time, Some(at(30)));
        assert_eq!(never.exit_code, None);
        assert_eq!(never.status_reason, Some(StatusReason::Dependency));
        assert_eq!(start(store, r.id, 31), None);

        // SCHEDULED → FAILED by a stop.
        let s = create(store, &new_process("s", at(4)));
        let cancelled = store
            .transition(s.id, &Transition::Cancel { at: at(40) })
            .unwrap()
            .unwrap();
        assert_eq!(cancelled.status(), ProcessStatus::Failed);
        assert_eq!(cancelled.status_reason, Some(StatusReason::Stopped));
        assert_eq!(cancelled.end_time, Some(at(40)));

        // A process that does not exist.
        let gone = ProcessId::new(s.id.get() + 100).unwrap();
        assert_eq!(start(store, gone, 1), None);
    });
}

#[test]
fn concurrent_starts_have_exactly_one_winner() {
    each_backend(|store| {
        let p = create(store, &new_process("s", at(1)));
        let winners: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..6)
                .map(|i| scope.spawn(move || start(store, p.id, i).is_some()))
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(winners, 1);
        assert_eq!(
            store.get_process(p.id).unwrap().unwrap().status(),
            ProcessStatus::Running
        );
    });
}

fn lines(range: std::ops::RangeInclusive<i64>) -> Vec<OutputLine> {
    range
        .map(|seq| OutputLine {
            seq,
            time: at(seq),
            stream: Stream::Stdout,
            line: format!("line {seq}"),
        })
        .collect()
}

#[test]
fn delete_is_refused_while_running_or_awaited() {
    each_backend(|store| {
        let p = create(store, &new_process("s", at(1)));
        start(store, p.id, 2).unwrap();
        let err = store
            .delete_process(p.id, process_store::Waiters::Refuse)
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Running(id) if id == p.id.get()),
            "{err}"
        );
        assert!(store.get_process(p.id).unwrap().is_some());

        // A SCHEDULED process waits on `dep`.
        let dep = create(store, &new_process("s", at(3)));
        let mut waiting = new_process("s", at(4));
        waiting.depends_on = vec![dep.id];
        let waiter = create(store, &waiting);
        let err = store
            .delete_process(dep.id, process_store::Waiters::Refuse)
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Depended(d, w) if d == dep.id.get() && w == waiter.id.get()),
            "{err}"
        );
        assert!(store.get_process(dep.id).unwrap().is_some());

        // Once the waiter has run, the dependency may go; the waiter forgets the edge.
        start(store, waiter.id, 5).unwrap();
        // A RUNNING dependent does not block the delete either.
        let deleted = store
            .delete_process(dep.id, process_store::Waiters::Refuse)
            .unwrap()
            .unwrap();
        assert_eq!(deleted.process.id, dep.id);
        assert!(deleted.files.is_empty());
        complete(store, waiter.id, 6).unwrap();
        let waiter = store.get_process(waiter.id).unwrap().unwrap();
        assert!(waiter.depends_on.is_empty());
        assert_eq!(waiter.status(), ProcessStatus::Completed);

        // Once finished, the running one may go too.
        complete(store, p.id, 7).unwrap();
        assert!(store
            .delete_process(p.id, process_store::Waiters::Refuse)
            .unwrap()
            .is_some());
        assert_eq!(store.get_process(p.id).unwrap(), None);
    });
}

#[test]
fn delete_removes_rows_output_and_files() {
    each_backend(|store| {
        let alice = user(store, "alice");
        let layout = store.layout().clone();

        // An uploaded input already in place under files/.
        let file = input("data.csv", 1);
        let input_path = layout.resolve(&file.storage_path).unwrap();
        fs::write(&input_path, "a,b\n").unwrap();

        let mut new = new_process("import", at(1));
        new.owner = Some(alice.id);
        new.parameters = vec![param("-f", "data.csv")];
        let p = store
            .create_process(&new, std::slice::from_ref(&file))
            .unwrap();
        let keep = create(store, &new_process("import", at(2)));

        // A run leaves a working directory, output files and console output.
        fs::create_dir_all(layout.work_dir(p.id)).unwrap();
        fs::create_dir_all(layout.output_dir(p.id).join("exportCSV")).unwrap();
        fs::write(layout.work_dir(p.id).join("data.csv"), "a,b\n").unwrap();
        let out_path = layout.output_dir(p.id).join("exportCSV").join("x.csv");
        fs::write(&out_path, "x\n").unwrap();
        let output_file = process_core::ProcessFile {
            id: FileId::from_uuid(uuid::Uuid::new_v4()),
            process_id: p.id,
            name: "x.csv".to_owned(),
            filetype: "exportCSV".to_owned(),
            size_bytes: 2,
            md5: "401b30e3b8b5d629635a5c613cdb7919".to_owned(),
            storage_path: layout.relative(&out_path).unwrap(),
            creation_time: at(5),
        };
        store.add_files(std::slice::from_ref(&output_file)).unwrap();
        store.append_output(p.id, &lines(1..=50)).unwrap();
        store.append_output(keep.id, &lines(1..=5)).unwrap();
        start(store, p.id, 3).unwrap();
        complete(store, p.id, 4).unwrap();

        let deleted = store
            .delete_process(p.id, process_store::Waiters::Refuse)
            .unwrap()
            .unwrap();
        assert_eq!(deleted.process.id, p.id);
        assert_eq!(deleted.process.parameters, new.parameters);
        let mut files = deleted.files.clone();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(files, vec![file.for_process(p.id), output_file.clone()]);

        // Rows.
        assert_eq!(store.get_process(p.id).unwrap(), None);
        assert!(store.files(p.id).unwrap().is_empty());
        assert_eq!(store.get_file(file.id).unwrap(), None);
        assert_eq!(store.get_file(output_file.id).unwrap(), None);
        assert!(store
            .read_output(p.id, OutputRange::default(), 1000)
            .unwrap()
            .is_empty());
        let mut by_param = ProcessQuery::new(ListScope::All);
        by_param.parameters = vec![param("-f", "data.csv").into()];
        assert_eq!(store.list_processes(&by_param).unwrap().total, 0);

        // Disk.
        assert!(!layout.run_dir(p.id).exists());
        assert!(!input_path.exists());
        assert!(layout.files_dir().exists());

        // Other processes are untouched.
        assert_eq!(store.get_process(keep.id).unwrap(), Some(keep.clone()));
        assert_eq!(
            store
                .read_output(keep.id, OutputRange::default(), 1000)
                .unwrap(),
            lines(1..=5)
        );

        // Deleting again finds nothing.
        assert!(store
            .delete_process(p.id, process_store::Waiters::Refuse)
            .unwrap()
            .is_none());

        // Ids are never reused, even for the highest one deleted.
        let last = create(store, &new_process("s", at(9)));
        assert!(store
            .delete_process(last.id, process_store::Waiters::Refuse)
            .unwrap()
            .is_some());
        let next = create(store, &new_process("s", at(10)));
        assert!(next.id > last.id, "{} reused {}", next.id, last.id);
    });
}
