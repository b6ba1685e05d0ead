use process_core::file::INPUT_FILETYPE;
use process_core::{
    FileId, FileStatus, ListScope, NewUploadFile, PageRequest, UploadDefinition, UploadError,
    UploadId, UploadStatus, UserId,
};
use process_datadir::{Checksum, Staged};
use process_store::{FileChange, Store, StoreError};

use crate::{at, each_backend, new_process, user};

fn files(names: &[&str]) -> Vec<NewUploadFile> {
    names
        .iter()
        .map(|n| NewUploadFile {
            name: (*n).to_owned(),
            ui_key: None,
        })
        .collect()
}

fn names(def: &UploadDefinition) -> Vec<&str> {
    def.files.iter().map(|f| f.name.as_str()).collect()
}

fn statuses(def: &UploadDefinition) -> Vec<FileStatus> {
    def.files.iter().map(|f| f.status).collect()
}

/// Writes `bytes` where an upload in flight would be.
fn received(store: &Store, bytes: &[u8]) -> Staged {
    let mut staged = Staged::new(store.layout());
    staged.write_from(bytes).unwrap();
    staged
}

fn md5_of(bytes: &[u8]) -> String {
    let mut sum = Checksum::default();
    sum.update(bytes);
    sum.value().1
}

/// Uploads `bytes` as file `file` of `id`: start, then finish.
fn upload(
    store: &Store,
    id: UploadId,
    file: FileId,
    by: UserId,
    bytes: &[u8],
    secs: i64,
) -> UploadDefinition {
    store
        .start_file_upload(id, file, by, at(secs))
        .unwrap()
        .unwrap();
    let got = received(store, bytes);
    let tmp = got.path().to_owned();
    let def = store
        .finish_file_upload(id, file, got, by, at(secs))
        .unwrap()
        .unwrap();
    assert!(!tmp.exists(), "the received bytes were moved");
    def
}

fn is_upload_error(r: Result<impl std::fmt::Debug, StoreError>, expected: &UploadError) {
    match r {
        Err(StoreError::Upload(e)) => assert_eq!(&e, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

#[test]
fn a_session_goes_from_new_to_completed() {
    each_backend(|store| {
        let alice = user(store, "alice");
        let def = store
            .create_upload(alice.id, &files(&["a.csv", "b.csv"]), at(1))
            .unwrap();
        assert_eq!(def.status, UploadStatus::New);
        assert_eq!(def.owner, alice.id);
        assert_eq!((def.create_date, def.updated_by), (at(1), alice.id));
        assert_eq!(names(&def), ["a.csv", "b.csv"]);
        assert_eq!(statuses(&def), [FileStatus::New, FileStatus::New]);
        assert_eq!(store.get_upload(def.id).unwrap(), Some(def.clone()));
        let (a, b) = (def.files[0].id, def.files[1].id);

        // Not consumable before it is LOADED.
        is_upload_error(
            store.create_process_from_upload(&new_process("cat", at(2)), &[], &def),
            &UploadError::Definition {
                from: UploadStatus::New,
                event: "launch a process with",
            },
        );

        let started = store
            .start_file_upload(def.id, a, alice.id, at(2))
            .unwrap()
            .unwrap();
        assert_eq!(started.status, UploadStatus::InProgress);
        assert_eq!(started.files[0].status, FileStatus::Uploading);
        // One upload of a file at a time.
        is_upload_error(
            store.start_file_upload(def.id, a, alice.id, at(2)),
            &UploadError::File {
                name: "a.csv".into(),
                from: FileStatus::Uploading,
                event: "upload",
            },
        );
        let got = received(store, b"alpha\n");
        let loaded_a = store
            .finish_file_upload(def.id, a, got, alice.id, at(3))
            .unwrap()
            .unwrap();
        let fa = &loaded_a.files[0];
        assert_eq!(fa.status, FileStatus::Uploaded);
        assert_eq!(fa.size_bytes, Some(6));
        assert_eq!(fa.md5.as_deref(), Some(md5_of(b"alpha\n").as_str()));
        assert_eq!(fa.uploaded_date, Some(at(3)));
        assert_eq!(loaded_a.status, UploadStatus::InProgress);
        assert_eq!(
            std::fs::read(store.layout().upload_path(a)).unwrap(),
            b"alpha\n"
        );
        // An UPLOADED file is not uploaded again.
        is_upload_error(
            store.start_file_upload(def.id, a, alice.id, at(3)),
            &UploadError::File {
                name: "a.csv".into(),
                from: FileStatus::Uploaded,
                event: "upload",
            },
        );

        // A failed upload leaves the file in ERROR, and it may be retried.
        store
            .start_file_upload(def.id, b, alice.id, at(4))
            .unwrap()
            .unwrap();
        let failed = store
            .fail_file_upload(def.id, b, alice.id, at(4))
            .unwrap()
            .unwrap();
        assert_eq!(statuses(&failed), [FileStatus::Uploaded, FileStatus::Error]);
        assert_eq!(failed.status, UploadStatus::InProgress);
        assert!(!store.layout().upload_path(b).exists());
        let loaded = upload(store, def.id, b, alice.id, b"beta\n", 5);
        assert_eq!(loaded.status, UploadStatus::Loaded);
        assert_eq!(loaded.updated_date, at(5));

        // A launch takes every file as an input and completes the session, atomically.
        let mut new = new_process("cat", at(6));
        new.owner = Some(alice.id);
        let process = store
            .create_process_from_upload(&new, &[], &loaded)
            .unwrap();
        let inputs = store.files(process.id).unwrap();
        assert_eq!(inputs.len(), 2);
        for (input, (name, bytes)) in inputs
            .iter()
            .zip([("a.csv", &b"alpha\n"[..]), ("b.csv", &b"beta\n"[..])])
        {
            assert_eq!(input.name, name);
            assert_eq!(input.filetype, INPUT_FILETYPE);
            assert_eq!(input.md5, md5_of(bytes));
            assert_eq!(input.size_bytes, bytes.len() as u64);
            let stored = store.layout().resolve(&input.storage_path).unwrap();
            assert!(stored.starts_with(store.layout().files_dir()));
            assert_eq!(std::fs::read(stored).unwrap(), bytes);
        }
        assert!(!store.layout().upload_path(a).exists());
        assert!(!store.layout().upload_path(b).exists());
        let done = store.get_upload(def.id).unwrap().unwrap();
        assert_eq!(done.status, UploadStatus::Completed);
        assert_eq!(done.process_id, Some(process.id));

        // A COMPLETED session is used once and never changes again.
        let completed = UploadError::Definition {
            from: UploadStatus::Completed,
            event: "launch a process with",
        };
        is_upload_error(
            store.create_process_from_upload(&new_process("cat", at(7)), &[], &loaded),
            &completed,
        );
        is_upload_error(
            store.create_process_from_upload(&new_process("cat", at(7)), &[], &done),
            &completed,
        );
        let locked = UploadError::Definition {
            from: UploadStatus::Completed,
            event: "change",
        };
        is_upload_error(
            store.add_upload_files(def.id, &files(&["c.csv"]), alice.id, at(8)),
            &locked,
        );
        is_upload_error(
            store.delete_upload_file(def.id, a, alice.id, at(8)),
            &locked,
        );
        is_upload_error(store.start_file_upload(def.id, a, alice.id, at(8)), &locked);
        assert_eq!(store.files(process.id).unwrap().len(), 2);

        // Deleting the session keeps the process's files.
        assert!(store.delete_upload(def.id).unwrap().is_some());
        assert_eq!(store.get_upload(def.id).unwrap(), None);
        assert_eq!(store.delete_upload(def.id).unwrap(), None);
        assert_eq!(store.files(process.id).unwrap(), inputs);

        // Deleting the process leaves the session rows consistent (process_id cleared).
        let other = store
            .create_upload(alice.id, &files(&["x"]), at(9))
            .unwrap();
        let x = other.files[0].id;
        let loaded = upload(store, other.id, x, alice.id, b"x", 9);
        let p2 = store
            .create_process_from_upload(&new_process("cat", at(10)), &[], &loaded)
            .unwrap();
        store
            .delete_process(p2.id, process_store::Waiters::Refuse)
            .unwrap()
            .unwrap();
        let orphan = store.get_upload(other.id).unwrap().unwrap();
        assert_eq!(
            (orphan.status, orphan.process_id),
            (UploadStatus::Completed, None)
        );
    });
}

#[test]
fn files_are_added_renamed_and_deleted() {
    each_backend(|store| {
        let alice = user(store, "alice");
        let def = store
            .create_upload(alice.id, &files(&["a", "b"]), at(1))
            .unwrap();
        let (a, b) = (def.files[0].id, def.files[1].id);
        let loaded_a = upload(store, def.id, a, alice.id, b"A", 2);
        assert_eq!(loaded_a.status, UploadStatus::InProgress);

        // Deleting the only file not uploaded yet leaves a LOADED session.
        let after = store
            .delete_upload_file(def.id, b, alice.id, at(3))
            .unwrap()
            .unwrap();
        assert_eq!(
            (names(&after), after.status),
            (vec!["a"], UploadStatus::Loaded)
        );
        assert_eq!(
            store
                .delete_upload_file(def.id, b, alice.id, at(3))
                .unwrap(),
            None
        );

        // Adding one makes it IN_PROGRESS again; names stay unique.
        let (added, ids) = store
            .add_upload_files(def.id, &files(&["c", "d"]), alice.id, at(4))
            .unwrap()
            .unwrap();
        assert_eq!(names(&added), ["a", "c", "d"]);
        assert_eq!(ids, [added.files[1].id, added.files[2].id]);
        assert_eq!(added.status, UploadStatus::InProgress);
        is_upload_error(
            store.add_upload_files(def.id, &files(&["c"]), alice.id, at(4)),
            &UploadError::DuplicateName { name: "c".into() },
        );
        is_upload_error(
            store.create_upload(alice.id, &files(&["x", "x"]), at(4)),
            &UploadError::DuplicateName { name: "x".into() },
        );
        is_upload_error(
            store.add_upload_files(def.id, &files(&["bad\nname"]), alice.id, at(4)),
            &UploadError::InvalidName {
                name: "bad\nname".into(),
            },
        );
        let (c, d) = (ids[0], ids[1]);

        // PUT semantics: swap two names, drop "a" (and its bytes), add "e".
        let change = |id: Option<FileId>, name: &str| FileChange {
            id,
            file: NewUploadFile {
                name: name.to_owned(),
                ui_key: Some(format!("key-{name}")),
            },
        };
        let updated = store
            .update_upload_files(
                def.id,
                &[
                    change(Some(c), "d"),
                    change(Some(d), "c"),
                    change(None, "e"),
                ],
                alice.id,
                at(5),
            )
            .unwrap()
            .unwrap();
        assert_eq!(names(&updated), ["d", "c", "e"]);
        assert_eq!(
            updated
                .files
                .iter()
                .map(|f| f.id)
                .take(2)
                .collect::<Vec<_>>(),
            [c, d]
        );
        assert_eq!(updated.files[2].ui_key.as_deref(), Some("key-e"));
        assert_eq!(updated.status, UploadStatus::New);
        assert!(!store.layout().upload_path(a).exists());
        is_upload_error(
            store.update_upload_files(def.id, &[change(Some(a), "a")], alice.id, at(6)),
            &UploadError::UnknownFile { id: a },
        );

        // Missing definitions and files are None, not errors.
        let nowhere = UploadId::from_uuid(uuid::Uuid::new_v4());
        assert_eq!(
            store
                .add_upload_files(nowhere, &files(&["z"]), alice.id, at(7))
                .unwrap(),
            None
        );
        assert_eq!(
            store.start_file_upload(def.id, a, alice.id, at(7)).unwrap(),
            None
        );
        assert_eq!(store.get_upload(nowhere).unwrap(), None);

        // Deleting the session removes its bytes.
        let loaded_c = upload(store, def.id, c, alice.id, b"C", 8);
        assert_eq!(loaded_c.status, UploadStatus::InProgress);
        assert!(store.layout().upload_path(c).exists());
        store.delete_upload(def.id).unwrap().unwrap();
        assert!(!store.layout().upload_path(c).exists());
    });
}

#[test]
fn a_launch_refuses_a_session_that_changed_and_leaves_no_links() {
    each_backend(|store| {
        let alice = user(store, "alice");
        let def = store
            .create_upload(alice.id, &files(&["a", "b"]), at(1))
            .unwrap();
        upload(store, def.id, def.files[0].id, alice.id, b"A", 2);
        let snapshot = upload(store, def.id, def.files[1].id, alice.id, b"B", 3);
        assert_eq!(snapshot.status, UploadStatus::Loaded);
        // A file goes away after the launch read the session (still LOADED).
        store
            .delete_upload_file(def.id, def.files[1].id, alice.id, at(4))
            .unwrap()
            .unwrap();
        is_upload_error(
            store.create_process_from_upload(&new_process("cat", at(5)), &[], &snapshot),
            &UploadError::Changed,
        );
        let left: Vec<_> = std::fs::read_dir(store.layout().files_dir())
            .unwrap()
            .collect();
        assert!(left.is_empty(), "no links left behind: {left:?}");
        let after = store.get_upload(def.id).unwrap().unwrap();
        assert_eq!(after.status, UploadStatus::Loaded);
        assert!(store.layout().upload_path(def.files[0].id).exists());
    });
}

#[test]
fn listings_are_scoped_and_newest_first() {
    each_backend(|store| {
        let alice = user(store, "alice");
        let bob = user(store, "bob");
        let first = store
            .create_upload(alice.id, &files(&["1"]), at(1))
            .unwrap();
        let theirs = store.create_upload(bob.id, &files(&["2"]), at(2)).unwrap();
        let second = store.create_upload(alice.id, &[], at(3)).unwrap();
        assert_eq!(second.status, UploadStatus::New);

        let own = store
            .list_uploads(ListScope::OwnedBy(alice.id), PageRequest::first(20))
            .unwrap();
        assert_eq!(own.total, 2);
        assert_eq!(own.items, vec![second.clone(), first.clone()]);

        let all = store
            .list_uploads(ListScope::All, PageRequest::first(2))
            .unwrap();
        assert_eq!(all.total, 3);
        assert_eq!(all.total_pages(), 2);
        assert_eq!(all.items, vec![second, theirs]);
        let rest = store
            .list_uploads(
                ListScope::All,
                PageRequest::new(Some("1"), Some("2")).unwrap(),
            )
            .unwrap();
        assert_eq!(rest.items, vec![first]);
    });
}

#[test]
fn two_launches_racing_for_one_session_use_it_once() {
    each_backend(|store| {
        let alice = user(store, "alice");
        let def = store
            .create_upload(alice.id, &files(&["a", "b"]), at(1))
            .unwrap();
        upload(store, def.id, def.files[0].id, alice.id, b"A", 2);
        let loaded = upload(store, def.id, def.files[1].id, alice.id, b"B", 3);
        let results: Vec<_> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..4)
                .map(|i| {
                    let loaded = &loaded;
                    s.spawn(move || {
                        store.create_process_from_upload(
                            &new_process("cat", at(4 + i)),
                            &[],
                            loaded,
                        )
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "{results:?}");
        for r in &results {
            if let Err(e) = r {
                assert!(matches!(e, StoreError::Upload(_)), "{e:?}");
            }
        }
        assert_eq!(store.files(won[0].id).unwrap().len(), 2);
        // Only the winner's links exist.
        assert_eq!(
            std::fs::read_dir(store.layout().files_dir())
                .unwrap()
                .count(),
            2
        );
        let done = store.get_upload(def.id).unwrap().unwrap();
        assert_eq!(done.process_id, Some(won[0].id));
    });
}
