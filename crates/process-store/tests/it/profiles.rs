use process_store::{ExternalUser, ProfileChange};

use crate::{at, each_backend};

fn external(name: &str, admin: bool, groups: &[&str]) -> ExternalUser {
    ExternalUser {
        name: name.to_owned(),
        admin,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        email: Some(format!("{name}@example.org")),
        first_name: Some("Carol".to_owned()),
        last_name: None,
    }
}

#[test]
fn profiles_are_set_cleared_and_read() {
    each_backend(|store| {
        let alice = store.upsert_user("alice", false, &[], at(0)).unwrap();
        let plain = store.profile(alice.id).unwrap().unwrap();
        assert_eq!(plain.email, None);
        assert!(!plain.external && !plain.has_password);
        assert_eq!(plain.user, alice);

        let change = ProfileChange {
            email: Some("alice@example.org".into()),
            first_name: Some("Alice".into()),
            last_name: Some("Liddell".into()),
        };
        assert!(store.set_profile("alice", &change).unwrap());
        // `None` leaves a field; an empty string clears it.
        let clear = ProfileChange {
            last_name: Some(String::new()),
            ..Default::default()
        };
        assert!(store.set_profile("alice", &clear).unwrap());
        let p = store.profile(alice.id).unwrap().unwrap();
        assert_eq!(p.email.as_deref(), Some("alice@example.org"));
        assert_eq!(p.first_name.as_deref(), Some("Alice"));
        assert_eq!(p.last_name, None);
        assert!(!store.set_profile("nobody", &change).unwrap());
    });
}

#[test]
fn external_users_are_created_once_and_follow_their_provider() {
    each_backend(|store| {
        let first = store
            .sync_external_user(&external("carol", false, &["lab", "b", "lab"]), at(0))
            .unwrap()
            .unwrap();
        assert_eq!(first.groups, ["b", "lab"]);
        let p = store.profile(first.id).unwrap().unwrap();
        assert!(p.external && !p.has_password);
        assert_eq!(p.email.as_deref(), Some("carol@example.org"));

        // The same token again: the same user, unchanged.
        let again = store
            .sync_external_user(&external("carol", false, &["lab", "b"]), at(1))
            .unwrap()
            .unwrap();
        assert_eq!(again, first);
        // New groups and admin: written, and groups the provider dropped are gone.
        let changed = store
            .sync_external_user(&external("carol", true, &["admins"]), at(2))
            .unwrap()
            .unwrap();
        assert_eq!(changed.id, first.id);
        assert!(changed.admin);
        assert_eq!(changed.groups, ["admins"]);
        assert_eq!(store.get_user(first.id).unwrap(), Some(changed));

        // A provider never takes over a local account.
        let local = store.upsert_user("alice", false, &[], at(3)).unwrap();
        assert_eq!(
            store
                .sync_external_user(&external("alice", true, &["x"]), at(4))
                .unwrap(),
            None
        );
        assert_eq!(store.get_user(local.id).unwrap(), Some(local));
    });
}
