use process_core::UserId;
use process_store::TOKEN_PREFIX;

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

        let t1 = store.create_token(alice.id, at(1)).unwrap();
        let t2 = store.create_token(alice.id, at(2)).unwrap();
        let tb = store.create_token(bob.id, at(3)).unwrap();
        assert!(t1.starts_with(TOKEN_PREFIX), "{t1}");
        // 32 random bytes in hex after the prefix.
        assert_eq!(t1.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(t1, t2);

        assert_eq!(store.user_by_token(&t1).unwrap(), Some(alice.clone()));
        assert_eq!(store.user_by_token(&t2).unwrap(), Some(alice.clone()));
        assert_eq!(store.user_by_token(&tb).unwrap(), Some(bob.clone()));

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
            assert_eq!(store.user_by_token(wrong).unwrap(), None, "{wrong:?}");
        }

        // A token sees the user as it is now, not as it was when the token was issued.
        store
            .upsert_user("alice", true, &groups(&["ops"]), at(4))
            .unwrap();
        let now = store.user_by_token(&t1).unwrap().unwrap();
        assert!(now.admin);
        assert_eq!(now.groups, groups(&["lab", "ops"]));
    });
}
