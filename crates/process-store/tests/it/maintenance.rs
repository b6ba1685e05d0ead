//! Housekeeping: leftover temporary uploads and input files no process refers to, and the
//! retention sweep.

use std::time::{Duration, SystemTime};

use process_core::retention::expiry;
use process_core::{
    DependencyType, FileId, NewProcess, ProcessId, ProcessStatus, StatusReason, Transition,
};
use process_datadir::Layout;
use process_store::{NewFile, Store};
use time::OffsetDateTime;

use crate::{at, create, each_backend, new_process, script};

fn age(path: &std::path::Path, by: Duration) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - by).unwrap();
}

#[test]
fn orphan_inputs_and_old_temporary_files_are_removed() {
    each_backend(|store| {
        let layout = store.layout();
        let id = FileId::from_uuid(uuid::Uuid::new_v4());
        let kept = layout.resolve(&Layout::input_storage_path(id)).unwrap();
        std::fs::write(&kept, b"input").unwrap();
        let file = NewFile {
            id,
            name: "in.csv".into(),
            filetype: "inputFile".into(),
            size_bytes: 5,
            md5: String::new(),
            storage_path: Layout::input_storage_path(id),
            creation_time: at(0),
        };
        store
            .create_process(&new_process("x", at(0)), &[file])
            .unwrap();
        let orphan = layout.files_dir().join(uuid::Uuid::new_v4().to_string());
        let young_orphan = layout.files_dir().join(uuid::Uuid::new_v4().to_string());
        let old_tmp = layout.tmp_dir().join("old");
        let new_tmp = layout.tmp_dir().join("new");
        for p in [&orphan, &young_orphan, &old_tmp, &new_tmp] {
            std::fs::write(p, b"x").unwrap();
        }
        for p in [&kept, &orphan, &old_tmp] {
            age(p, Duration::from_secs(7200));
        }
        assert_eq!(
            store
                .clean_orphan_inputs(Duration::from_secs(3600))
                .unwrap(),
            1
        );
        assert_eq!(layout.clear_tmp(Duration::from_secs(3600)), 1);
        assert!(kept.exists() && young_orphan.exists() && new_tmp.exists());
        assert!(!orphan.exists() && !old_tmp.exists());
    });
}

/// A process that failed at `at`.
fn finished(store: &Store, at: OffsetDateTime, depends_on: Vec<ProcessId>) -> ProcessId {
    let p = store
        .create_process(
            &NewProcess {
                depends_on,
                dependency_type: DependencyType::AfterAny,
                access_hash: None,
                ..new_process("x", at)
            },
            &[],
        )
        .unwrap();
    store
        .transition(
            p.id,
            &Transition::Fail {
                at,
                reason: StatusReason::Exit,
                exit_code: Some(1),
            },
        )
        .unwrap();
    p.id
}

#[test]
fn sweep_deletes_only_expired_finished_processes() {
    each_backend(|store| {
        let now = OffsetDateTime::now_utc();
        let old = finished(store, now - time::Duration::days(10), vec![]);
        let recent = finished(store, now - time::Duration::days(1), vec![]);
        // Retention wins over a waiter (a far start time must not pin what it waits on): the
        // waiter fails `dependency` and says why.
        let waited_on = finished(store, now - time::Duration::days(10), vec![]);
        let waiter = store
            .create_process(
                &NewProcess {
                    script: script("x"),
                    depends_on: vec![waited_on],
                    dependency_type: DependencyType::AfterOk,
                    access_hash: None,
                    ..new_process("x", now)
                },
                &[],
            )
            .unwrap();
        assert_eq!(store.sweep_processes(7, now).unwrap(), 2);
        assert!(store.get_process(old).unwrap().is_none());
        assert!(store.get_process(recent).unwrap().is_some());
        assert!(store.get_process(waited_on).unwrap().is_none());
        let waiter = store.get_process(waiter.id).unwrap().unwrap();
        assert_eq!(waiter.status(), ProcessStatus::Failed);
        assert_eq!(waiter.status_reason, Some(StatusReason::Dependency));
        let lines = store
            .read_output(waiter.id, process_core::OutputRange::default(), 10)
            .unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(
            lines[0].line,
            format!("[processd: not run: dependency {waited_on} was deleted]")
        );
        assert_eq!(expiry(now, 7), now + time::Duration::days(7));
    });
}

#[test]
fn run_directories_without_a_process_are_removed() {
    each_backend(|store| {
        let kept = create(store, &new_process("s", at(1))).id;
        let orphan = process_core::ProcessId::new(kept.get() + 1000).unwrap();
        for id in [kept, orphan] {
            std::fs::create_dir_all(store.layout().output_dir(id)).unwrap();
            std::fs::write(store.layout().output_dir(id).join("f"), b"x").unwrap();
        }
        assert_eq!(store.clean_orphan_runs().unwrap(), 1);
        assert!(store.layout().run_dir(kept).exists());
        assert!(!store.layout().run_dir(orphan).exists());
        assert_eq!(store.clean_orphan_runs().unwrap(), 0);
    });
}
