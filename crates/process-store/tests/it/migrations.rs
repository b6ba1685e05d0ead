use process_core::{ListScope, ProcessId, ProcessQuery};
use process_datadir::Layout;
use process_store::{Store, StoreError};

use crate::{at, create, each_database, new_process, user};

#[test]
fn migrations_go_up_down_and_up_again() {
    each_database(|store| {
        store.ping().unwrap();

        let applied = store.migrate().unwrap();
        assert!(!applied.is_empty());
        assert_eq!(store.migrate().unwrap(), Vec::<String>::new());

        let alice = user(store, "alice");
        let mut new = new_process("import", at(1));
        new.owner = Some(alice.id);
        let first = create(store, &new);

        assert_eq!(store.revert_all_migrations().unwrap(), applied.len());
        // The tables are gone.
        assert!(matches!(
            store.get_process(first.id),
            Err(StoreError::Query(_))
        ));
        assert!(store.get_user(alice.id).is_err());

        assert_eq!(store.migrate().unwrap(), applied);
        // The schema works again and starts empty.
        assert_eq!(store.get_process(first.id).unwrap(), None);
        assert_eq!(store.get_user(alice.id).unwrap(), None);
        let page = store
            .list_processes(&ProcessQuery::new(ListScope::All))
            .unwrap();
        assert_eq!(page.total, 0);
        let again = create(store, &new_process("import", at(2)));
        assert_eq!(store.get_process(again.id).unwrap(), Some(again.clone()));
        assert!(again.id >= ProcessId::new(1).unwrap());
    });
}

#[test]
fn unknown_database_urls_are_refused() {
    let dir = tempfile::TempDir::new().unwrap();
    for url in ["mysql://localhost/x", "sqlite://", "/tmp/x.db"] {
        let err = Store::open(url, Layout::new(dir.path())).unwrap_err();
        assert!(matches!(err, StoreError::Config(_)), "{url}: {err}");
    }
}
