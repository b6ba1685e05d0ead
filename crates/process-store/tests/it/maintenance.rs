//! Housekeeping on disk: leftover temporary uploads and input files no process refers to.

use std::time::{Duration, SystemTime};

use process_core::FileId;
use process_store::{Layout, NewFile};

use crate::{at, each_backend, new_process};

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
        assert_eq!(store.clean_tmp(Duration::from_secs(3600)), 1);
        assert!(kept.exists() && young_orphan.exists() && new_tmp.exists());
        assert!(!orphan.exists() && !old_tmp.exists());
    });
}
