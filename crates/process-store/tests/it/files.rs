use process_core::{FileId, PageRequest, ProcessFile, ProcessId, ProcessRepository};
use process_datadir::Layout;
use process_store::NewFile;

use crate::{at, create, each_backend, new_process};

fn file(process: ProcessId, name: &str, filetype: &str, secs: i64) -> ProcessFile {
    ProcessFile {
        id: FileId::from_uuid(uuid::Uuid::new_v4()),
        process_id: process,
        name: name.to_owned(),
        filetype: filetype.to_owned(),
        size_bytes: name.len() as u64,
        md5: format!("{:032x}", secs),
        storage_path: format!("runs/{process}/output/{name}"),
        creation_time: at(secs),
    }
}

#[test]
fn files_list_by_filetype_and_page() {
    each_backend(|store| {
        let input_id = FileId::from_uuid(uuid::Uuid::new_v4());
        let input = NewFile {
            id: input_id,
            name: "z-input.csv".to_owned(),
            filetype: "inputFile".to_owned(),
            size_bytes: 6_000_000_000,
            md5: "0123456789abcdef0123456789abcdef".to_owned(),
            storage_path: Layout::input_storage_path(input_id),
            creation_time: at(1),
        };
        let p = store
            .create_process(&new_process("s", at(1)), std::slice::from_ref(&input))
            .unwrap();
        let other = create(store, &new_process("s", at(1)));

        // Outputs are registered after the run, so after the inputs.
        let outputs = vec![
            file(p.id, "b.txt", "outputFile", 10),
            file(p.id, "a.txt", "outputFile", 10),
            file(p.id, "report.csv", "exportCSV", 10),
            file(p.id, "c.txt", "outputFile", 10),
        ];
        store.add_files(&outputs).unwrap();
        store
            .add_files(&[file(other.id, "a.txt", "outputFile", 10)])
            .unwrap();
        store.add_files(&[]).unwrap();

        let input = input.for_process(p.id);
        let by_name = |name: &str| outputs.iter().find(|f| f.name == name).unwrap().clone();
        let everything = vec![
            input.clone(),
            by_name("a.txt"),
            by_name("b.txt"),
            by_name("c.txt"),
            by_name("report.csv"),
        ];

        let page = store
            .list_files(p.id, None, PageRequest::first(20))
            .unwrap();
        assert_eq!(page.total, 5);
        assert_eq!(page.items, everything);
        assert_eq!(store.files(p.id).unwrap(), everything);
        assert_eq!(ProcessRepository::files(store, p.id).unwrap(), everything);

        let outs = store
            .list_files(p.id, Some("outputFile"), PageRequest::first(20))
            .unwrap();
        assert_eq!(outs.total, 3);
        assert_eq!(outs.items, everything[1..4].to_vec());

        let second = store
            .list_files(
                p.id,
                Some("outputFile"),
                PageRequest::new(Some("1"), Some("2")).unwrap(),
            )
            .unwrap();
        assert_eq!(second.total, 3);
        assert_eq!(second.total_pages(), 2);
        assert_eq!(second.items, vec![by_name("c.txt")]);

        let inputs = store
            .list_files(p.id, Some("inputFile"), PageRequest::first(20))
            .unwrap();
        assert_eq!(inputs.items, vec![input.clone()]);
        let none = store
            .list_files(p.id, Some("nope"), PageRequest::first(20))
            .unwrap();
        assert_eq!((none.total, none.items.len()), (0, 0));

        assert_eq!(
            store.filetypes(p.id).unwrap(),
            ["exportCSV", "inputFile", "outputFile"]
        );
        assert_eq!(store.filetypes(other.id).unwrap(), ["outputFile"]);
        let empty = create(store, &new_process("s", at(2)));
        assert!(store.filetypes(empty.id).unwrap().is_empty());
        assert!(store.files(empty.id).unwrap().is_empty());

        // Every field round-trips, including sizes beyond 32 bits.
        assert_eq!(store.get_file(input.id).unwrap(), Some(input));
        let report = by_name("report.csv");
        assert_eq!(store.get_file(report.id).unwrap(), Some(report));
        let unknown = FileId::from_uuid(uuid::Uuid::new_v4());
        assert_eq!(store.get_file(unknown).unwrap(), None);

        // add_files of the repository port is insert_files.
        let late = file(empty.id, "late.log", "log", 20);
        store.add_files(std::slice::from_ref(&late)).unwrap();
        assert_eq!(store.get_file(late.id).unwrap(), Some(late));

        // A file id is unique.
        let dup = ProcessFile {
            process_id: empty.id,
            ..by_name("a.txt")
        };
        assert!(store.add_files(&[dup]).is_err());
    });
}
