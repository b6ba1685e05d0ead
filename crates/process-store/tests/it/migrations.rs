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
fn token_management_keeps_tokens_across_its_down_and_up() {
    each_database(|store| {
        store.migrate().unwrap();
        let alice = user(store, "alice");
        let lasting = store.create_token(alice.id, at(1), None).unwrap();
        let expiring = store.create_token(alice.id, at(2), Some(at(100))).unwrap();

        // Newer migrations revert their way down to this one first.
        let mut reverted = 0;
        loop {
            let version = store.revert_last_migration().unwrap();
            reverted += 1;
            assert!(
                version.as_str() >= "20261202000006",
                "reverted past it: {version}"
            );
            if version == "20261202000006" {
                break;
            }
        }
        assert_eq!(store.migrate().unwrap().len(), reverted);

        // A token without expiry survives with a fresh id; one that was to expire does not
        // (the old schema would have kept it for ever).
        assert_eq!(
            store.user_by_token(&lasting, at(3)).unwrap(),
            Some(alice.clone())
        );
        assert_eq!(store.user_by_token(&expiring, at(3)).unwrap(), None);
        let tokens = store.list_tokens("alice").unwrap().unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].creation_time, at(1));
        // New tokens and session versions work on the rebuilt table.
        let next = store.create_token(alice.id, at(4), None).unwrap();
        assert!(store.user_by_token(&next, at(5)).unwrap().is_some());
        assert!(store.end_sessions(alice.id).unwrap());
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
