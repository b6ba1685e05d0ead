use process_core::UserId;
use process_store::{TokenInfo, UserChange, TOKEN_PREFIX};

use crate::{at, each_backend};

fn groups(names: &[&str]) -> Vec<String> {
    names.iter().map(|g| (*g).to_owned()).collect()
}

#[test]
fn upsert_creates_adds_groups_and_only_grants_admin() {
    each_backend(|store| {
        let created = store
            .upsert_user("alice", false, &groups(&["lab", "editors"]), at(0))
            .unwrap();
        assert_eq!(created.name, "alice");
        assert!(!created.admin);
        // Groups come back sorted.
        assert_eq!(created.groups, groups(&["editors", "lab"]));
        assert_eq!(store.get_user(created.id).unwrap(), Some(created.clone()));

        // Known groups are kept, new ones added, the id stays.
        let more = store
            .upsert_user("alice", false, &groups(&["lab", "admins-to-be"]), at(1))
            .unwrap();
        assert_eq!(more.id, created.id);
        assert!(!more.admin);
        assert_eq!(more.groups, groups(&["admins-to-be", "editors", "lab"]));

        let granted = store.upsert_user("alice", true, &[], at(2)).unwrap();
        assert_eq!(granted.id, created.id);
        assert!(granted.admin);
        assert_eq!(granted.groups, more.groups);

        // `admin = false` never revokes, and an empty group list removes nothing.
        let kept = store.upsert_user("alice", false, &[], at(3)).unwrap();
        assert!(kept.admin);
        assert_eq!(kept.groups, more.groups);
        assert_eq!(store.get_user(created.id).unwrap(), Some(kept));

        // Another name is another user.
        let bob = store.upsert_user("bob", true, &[], at(4)).unwrap();
        assert_ne!(bob.id, created.id);
        assert!(bob.admin);
        assert!(bob.groups.is_empty());

        let stranger = UserId::from_uuid(uuid::Uuid::new_v4());
        assert_eq!(store.get_user(stranger).unwrap(), None);
    });
}

#[test]
fn tokens_find_their_user_and_nothing_else() {
    each_backend(|store| {
        let alice = store
            .upsert_user("alice", false, &groups(&["lab"]), at(0))
            .unwrap();
        let bob = store.upsert_user("bob", true, &[], at(0)).unwrap();

        let t1 = store.create_token(alice.id, at(1), None).unwrap();
        let t2 = store.create_token(alice.id, at(2), None).unwrap();
        let tb = store.create_token(bob.id, at(3), None).unwrap();
        assert!(t1.starts_with(TOKEN_PREFIX), "{t1}");
        // 32 random bytes in hex after the prefix.
        assert_eq!(t1.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(t1, t2);

        assert_eq!(
            store.user_by_token(&t1, at(10)).unwrap(),
            Some(alice.clone())
        );
        assert_eq!(
            store.user_by_token(&t2, at(10)).unwrap(),
            Some(alice.clone())
        );
        assert_eq!(store.user_by_token(&tb, at(10)).unwrap(), Some(bob.clone()));

        // The lookup is by the whole token: anything else finds no one.
        let mut flipped = t1.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        let truncated = &t1[..t1.len() - 1];
        let longer = format!("{t1}0");
        let upper = format!("{TOKEN_PREFIX}{}", t1[TOKEN_PREFIX.len()..].to_uppercase());
        for wrong in [
            flipped.as_str(),
            truncated,
            longer.as_str(),
            upper.as_str(),
            TOKEN_PREFIX,
            "",
        ] {
            assert_eq!(
                store.user_by_token(wrong, at(10)).unwrap(),
                None,
                "{wrong:?}"
            );
        }

        // A token sees the user as it is now, not as it was when the token was issued.
        store
            .upsert_user("alice", true, &groups(&["ops"]), at(4))
            .unwrap();
        let now = store.user_by_token(&t1, at(10)).unwrap().unwrap();
        assert!(now.admin);
        assert_eq!(now.groups, groups(&["lab", "ops"]));
    });
}

#[test]
fn tokens_are_listed_without_secrets_and_revoked_one_by_one() {
    each_backend(|store| {
        let alice = store.upsert_user("alice", false, &[], at(0)).unwrap();
        let bob = store.upsert_user("bob", false, &[], at(0)).unwrap();
        let t1 = store.create_token(alice.id, at(1), None).unwrap();
        let t2 = store.create_token(alice.id, at(2), Some(at(1000))).unwrap();
        let tb = store.create_token(bob.id, at(3), None).unwrap();

        let list = store.list_tokens("alice").unwrap().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[0].creation_time, list[0].expires_at, list[0].last_used),
            (at(1), None, None)
        );
        assert_eq!(
            (list[1].creation_time, list[1].expires_at, list[1].last_used),
            (at(2), Some(at(1000)), None)
        );
        assert!(list[0].id < list[1].id, "oldest first: {list:?}");
        // Nothing listed holds the token or its digest.
        let printed = format!("{list:?}");
        for secret in [&t1, &t2] {
            assert!(
                !printed.contains(&secret[TOKEN_PREFIX.len()..]),
                "{printed}"
            );
        }
        assert_eq!(store.list_tokens("nobody").unwrap(), None);
        assert_eq!(store.list_tokens("bob").unwrap().unwrap().len(), 1);

        // A use is recorded, at most once a minute.
        assert!(store.user_by_token(&t1, at(10)).unwrap().is_some());
        assert!(store.user_by_token(&t1, at(20)).unwrap().is_some());
        let used = |store: &process_store::Store| -> Vec<TokenInfo> {
            store.list_tokens("alice").unwrap().unwrap()
        };
        assert_eq!(used(store)[0].last_used, Some(at(10)));
        assert!(store.user_by_token(&t1, at(70)).unwrap().is_some());
        assert_eq!(used(store)[0].last_used, Some(at(70)));
        assert_eq!(used(store)[1].last_used, None);

        // Revoking names the user: bob's token id is not alice's to revoke.
        let bob_token = store.list_tokens("bob").unwrap().unwrap()[0].id;
        assert!(!store.revoke_token("alice", bob_token).unwrap());
        assert!(!store.revoke_token("nobody", bob_token).unwrap());
        assert!(store.user_by_token(&tb, at(80)).unwrap().is_some());

        assert!(store.revoke_token("alice", list[0].id).unwrap());
        assert!(!store.revoke_token("alice", list[0].id).unwrap(), "gone");
        assert_eq!(store.user_by_token(&t1, at(80)).unwrap(), None);
        assert!(store.user_by_token(&t2, at(80)).unwrap().is_some());
        assert_eq!(
            used(store).iter().map(|t| t.id).collect::<Vec<_>>(),
            [list[1].id]
        );

        // A new token never reuses a revoked id.
        store.create_token(alice.id, at(90), None).unwrap();
        assert!(used(store).iter().all(|t| t.id != list[0].id));

        assert_eq!(store.revoke_all_tokens("alice").unwrap(), Some(2));
        assert_eq!(store.user_by_token(&t2, at(95)).unwrap(), None);
        assert!(used(store).is_empty());
        assert_eq!(store.revoke_all_tokens("nobody").unwrap(), None);
        assert!(
            store.user_by_token(&tb, at(95)).unwrap().is_some(),
            "bob keeps his"
        );
    });
}

#[test]
fn expired_tokens_find_no_one() {
    each_backend(|store| {
        let alice = store.upsert_user("alice", false, &[], at(0)).unwrap();
        let token = store.create_token(alice.id, at(0), Some(at(100))).unwrap();
        assert_eq!(store.user_by_token(&token, at(99)).unwrap(), Some(alice));
        assert_eq!(store.user_by_token(&token, at(100)).unwrap(), None);
        assert_eq!(store.user_by_token(&token, at(5000)).unwrap(), None);
        // Still listed (so it can be seen and revoked), with its expiry.
        let list = store.list_tokens("alice").unwrap().unwrap();
        assert_eq!(list[0].expires_at, Some(at(100)));
    });
}

#[test]
fn update_user_revokes_admin_and_groups() {
    each_backend(|store| {
        store
            .upsert_user("root", true, &groups(&["lab", "ops"]), at(0))
            .unwrap();
        let demoted = store
            .update_user(
                "root",
                &UserChange {
                    admin: Some(false),
                    add_groups: groups(&["new"]),
                    remove_groups: groups(&["lab", "absent"]),
                },
            )
            .unwrap()
            .unwrap();
        assert!(!demoted.admin);
        assert_eq!(demoted.groups, groups(&["new", "ops"]));
        let token = store.create_token(demoted.id, at(1), None).unwrap();
        assert_eq!(
            store.user_by_token(&token, at(2)).unwrap(),
            Some(demoted.clone())
        );

        let change = UserChange {
            admin: Some(true),
            ..UserChange::default()
        };
        let promoted = store.update_user("root", &change).unwrap().unwrap();
        assert!(promoted.admin);
        assert_eq!(promoted.groups, demoted.groups);
        // Nothing to change changes nothing.
        let same = store
            .update_user("root", &UserChange::default())
            .unwrap()
            .unwrap();
        assert_eq!(same, promoted);
        assert_eq!(store.update_user("nobody", &change).unwrap(), None);
        assert_eq!(store.user_by_name("nobody").unwrap(), None);
        assert_eq!(store.user_by_name("root").unwrap(), Some(promoted));
    });
}

#[test]
fn session_versions_end_login_sessions() {
    each_backend(|store| {
        let alice = store.upsert_user("alice", false, &[], at(0)).unwrap();
        let bob = store.upsert_user("bob", false, &[], at(0)).unwrap();
        let login = store.user_with_password("alice").unwrap().unwrap();
        assert_eq!(login.user, alice);
        assert_eq!(login.password_hash, None);
        let v0 = login.session_version;
        assert_eq!(
            store.session_user(alice.id, v0).unwrap(),
            Some(alice.clone())
        );
        assert_eq!(store.session_user(alice.id, v0 + 1).unwrap(), None);

        // Logout.
        assert!(store.end_sessions(alice.id).unwrap());
        assert_eq!(store.session_user(alice.id, v0).unwrap(), None);
        let v1 = store
            .user_with_password("alice")
            .unwrap()
            .unwrap()
            .session_version;
        assert_ne!(v1, v0);
        assert_eq!(
            store.session_user(alice.id, v1).unwrap(),
            Some(alice.clone())
        );
        // Other users are untouched.
        let bob_version = store
            .user_with_password("bob")
            .unwrap()
            .unwrap()
            .session_version;
        assert_eq!(store.session_user(bob.id, bob_version).unwrap(), Some(bob));

        // A new password.
        assert!(store.set_password_hash("alice", "$argon2id$x").unwrap());
        let login = store.user_with_password("alice").unwrap().unwrap();
        assert_eq!(login.password_hash.as_deref(), Some("$argon2id$x"));
        assert_eq!(store.session_user(alice.id, v1).unwrap(), None);
        let v2 = login.session_version;

        // Revoking every token; API tokens are not sessions, so they survive a logout.
        let token = store.create_token(alice.id, at(1), None).unwrap();
        assert!(store.end_sessions(alice.id).unwrap());
        assert!(store.user_by_token(&token, at(2)).unwrap().is_some());
        let v3 = store
            .user_with_password("alice")
            .unwrap()
            .unwrap()
            .session_version;
        assert_ne!(v3, v2);
        store.revoke_all_tokens("alice").unwrap();
        assert_eq!(store.session_user(alice.id, v3).unwrap(), None);

        let stranger = UserId::from_uuid(uuid::Uuid::new_v4());
        assert!(!store.end_sessions(stranger).unwrap());
        assert_eq!(store.session_user(stranger, 0).unwrap(), None);
        assert!(!store.set_password_hash("nobody", "x").unwrap());
    });
}
