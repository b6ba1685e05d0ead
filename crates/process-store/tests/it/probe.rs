#[test]
fn probe_fresh_sqlite_opens() {
    for i in 0..100 {
        let dir = tempfile::TempDir::new().unwrap();
        let db = process_store::testing::TestDatabase::sqlite(dir.path());
        let t = std::time::Instant::now();
        let store =
            process_store::Store::open(&db.url, process_store::Layout::new(dir.path().join("d")))
                .unwrap();
        store.migrate().unwrap();
        let e = t.elapsed();
        if e.as_millis() > 200 {
            eprintln!("{i}: slow open {e:?}");
        }
    }
}
