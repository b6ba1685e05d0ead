use std::collections::BTreeSet;

use process_core::{
    ListScope, PageRequest, Process, ProcessQuery, ProcessStatus, Sort, SortDir, SortField, User,
};
use process_store::Store;

use crate::{at, complete, create, each_backend, fail, ids, new_process, param, start, user};

/// The processes `fixture` creates, by role.
struct Fixture {
    alice: User,
    bob: User,
    /// In creation order of the rows (ids ascending).
    all: Vec<Process>,
}

impl Fixture {
    fn id(&self, i: usize) -> i64 {
        self.all[i].id.get()
    }

    fn ids(&self, indexes: &[usize]) -> Vec<i64> {
        indexes.iter().map(|i| self.id(*i)).collect()
    }
}

/// Seven processes whose creation times are deliberately not in id order:
///
/// | # | owner | script  | created | status    | start | end | parameters          |
/// |---|-------|---------|---------|-----------|-------|-----|---------------------|
/// | 0 | alice | import  | 30      | COMPLETED | 40    | 50  | -f=a.csv            |
/// | 1 | bob   | export  | 10      | RUNNING   | 45    |     | -f=b.csv -v=true    |
/// | 2 | alice | export  | 20      | SCHEDULED |       |     |                     |
/// | 3 | -     | cleanup | 60      | FAILED    |       | 35  | -f=a.csv            |
/// | 4 | bob   | import  | 50      | COMPLETED | 42    | 70  | -f=a.csv -v=true    |
/// | 5 | alice | import  | 30      | FAILED    | 41    | 60  | -v=a.csv            |
/// | 6 | bob   | zap     | 5       | SCHEDULED |       |     |                     |
fn fixture(store: &Store) -> Fixture {
    let alice = user(store, "alice");
    let bob = user(store, "bob");
    let rows = [
        (Some(&alice), "import", 30, vec![param("-f", "a.csv")]),
        (
            Some(&bob),
            "export",
            10,
            vec![param("-f", "b.csv"), param("-v", "true")],
        ),
        (Some(&alice), "export", 20, vec![]),
        (None, "cleanup", 60, vec![param("-f", "a.csv")]),
        (
            Some(&bob),
            "import",
            50,
            vec![param("-f", "a.csv"), param("-v", "true")],
        ),
        (Some(&alice), "import", 30, vec![param("-v", "a.csv")]),
        (Some(&bob), "zap", 5, vec![]),
    ];
    let mut all = Vec::new();
    for (owner, script, created, parameters) in rows {
        let mut new = new_process(script, at(created));
        new.owner = owner.map(|u| u.id);
        new.parameters = parameters;
        all.push(create(store, &new));
    }
    start(store, all[0].id, 40).unwrap();
    complete(store, all[0].id, 50).unwrap();
    start(store, all[1].id, 45).unwrap();
    fail(store, all[3].id, 35).unwrap();
    start(store, all[4].id, 42).unwrap();
    complete(store, all[4].id, 70).unwrap();
    start(store, all[5].id, 41).unwrap();
    fail(store, all[5].id, 60).unwrap();
    let ids: Vec<_> = all.iter().map(|p| p.id).collect();
    let all = store.get_processes(&ids).unwrap();
    Fixture { alice, bob, all }
}

/// Every id a query matches, across all pages, in order; also checks the totals.
fn list(store: &Store, q: &ProcessQuery) -> Vec<i64> {
    let page = store.list_processes(q).unwrap();
    assert!(page.items.len() <= page.request.size() as usize);
    assert_eq!(page.total as usize, page.items.len(), "one page expected");
    ids(&page.items)
}

fn sorted(field: SortField, dir: SortDir) -> ProcessQuery {
    let mut q = ProcessQuery::new(ListScope::All);
    q.sort = Sort { field, dir };
    q
}

#[test]
fn listing_filters() {
    each_backend(|store| {
        let f = fixture(store);
        let asc = || sorted(SortField::CreationTime, SortDir::Asc);

        // By default: everything, newest first (ties by id, newest first).
        let everything = store
            .list_processes(&ProcessQuery::new(ListScope::All))
            .unwrap();
        assert_eq!(everything.total, 7);
        assert_eq!(ids(&everything.items), f.ids(&[3, 4, 5, 0, 2, 1, 6]));
        // Listed processes carry their parameters.
        assert_eq!(everything.items[1], f.all[4]);

        let mut q = asc();
        q.scope = ListScope::OwnedBy(f.alice.id);
        assert_eq!(list(store, &q), f.ids(&[2, 0, 5]));

        let mut q = asc();
        q.script = Some(crate::script("import"));
        assert_eq!(list(store, &q), f.ids(&[0, 5, 4]));

        let mut q = asc();
        q.user = Some(f.bob.id);
        assert_eq!(list(store, &q), f.ids(&[6, 1, 4]));

        // Scope and user filter both apply.
        let mut q = asc();
        q.scope = ListScope::OwnedBy(f.alice.id);
        q.user = Some(f.bob.id);
        assert_eq!(list(store, &q), Vec::<i64>::new());

        for (status, want) in [
            (ProcessStatus::Scheduled, vec![6, 2]),
            (ProcessStatus::Running, vec![1]),
            (ProcessStatus::Completed, vec![0, 4]),
            (ProcessStatus::Failed, vec![5, 3]),
        ] {
            let mut q = asc();
            q.status = Some(status);
            assert_eq!(list(store, &q), f.ids(&want), "{status}");
        }

        let mut q = asc();
        q.parameters = vec![param("-f", "a.csv").into()];
        assert_eq!(list(store, &q), f.ids(&[0, 4, 3]));

        // Every parameter filter must match.
        q.parameters = vec![param("-f", "a.csv").into(), param("-v", "true").into()];
        assert_eq!(list(store, &q), f.ids(&[4]));

        // Name and value must match in the same parameter (5 has -v=a.csv only).
        q.parameters = vec![param("-v", "a.csv").into()];
        assert_eq!(list(store, &q), f.ids(&[5]));
        q.parameters = vec![param("-v", "false").into()];
        assert_eq!(list(store, &q), Vec::<i64>::new());
        q.parameters = vec![param("-F", "a.csv").into()];
        assert_eq!(list(store, &q), Vec::<i64>::new());

        // Everything together.
        let mut q = asc();
        q.scope = ListScope::OwnedBy(f.bob.id);
        q.script = Some(crate::script("import"));
        q.user = Some(f.bob.id);
        q.status = Some(ProcessStatus::Completed);
        q.parameters = vec![param("-v", "true").into()];
        assert_eq!(list(store, &q), f.ids(&[4]));
        q.status = Some(ProcessStatus::Failed);
        assert_eq!(list(store, &q), Vec::<i64>::new());
    });
}

#[test]
fn listing_sorts_by_every_field_both_ways_with_nulls_last() {
    use SortDir::{Asc, Desc};
    use SortField::{CreationTime, EndTime, ScriptName, StartTime};
    each_backend(|store| {
        let f = fixture(store);
        let cases: &[(SortField, SortDir, &[usize])] = &[
            // 0 and 5 share a creation time: the id breaks the tie, in the sort's direction.
            (CreationTime, Asc, &[6, 1, 2, 0, 5, 4, 3]),
            (CreationTime, Desc, &[3, 4, 5, 0, 2, 1, 6]),
            // Never started (2, 3, 6) come last either way, by id in the sort's direction.
            (StartTime, Asc, &[0, 5, 4, 1, 2, 3, 6]),
            (StartTime, Desc, &[1, 4, 5, 0, 6, 3, 2]),
            // Not ended (1, 2, 6) come last either way.
            (EndTime, Asc, &[3, 0, 5, 4, 1, 2, 6]),
            (EndTime, Desc, &[4, 5, 0, 3, 6, 2, 1]),
            (ScriptName, Asc, &[3, 1, 2, 0, 4, 5, 6]),
            (ScriptName, Desc, &[6, 5, 4, 0, 2, 1, 3]),
        ];
        for (field, dir, want) in cases {
            let got = list(store, &sorted(*field, *dir));
            assert_eq!(got, f.ids(want), "{field:?} {dir:?}");
        }
    });
}

#[test]
fn script_names_sort_bytewise_on_both_backends() {
    each_backend(|store| {
        // Punctuation and digits must not be ignored or folded by a locale's collation.
        let names = ["b", "ab", "a_b", "a0", "a.b", "a-c", "0z"];
        let mut created = Vec::new();
        for name in names {
            created.push((name, create(store, &new_process(name, at(1))).id.get()));
        }
        let mut want: Vec<_> = created.clone();
        want.sort();
        let want: Vec<i64> = want.into_iter().map(|(_, id)| id).collect();
        let got = list(store, &sorted(SortField::ScriptName, SortDir::Asc));
        assert_eq!(got, want);
        let got = list(store, &sorted(SortField::ScriptName, SortDir::Desc));
        assert_eq!(got, want.into_iter().rev().collect::<Vec<_>>());
    });
}

#[test]
fn listing_pages_cover_everything_once() {
    each_backend(|store| {
        let alice = user(store, "alice");
        let mut created = Vec::new();
        for i in 0..23 {
            let mut new = new_process("s", at(i % 5));
            // Some ties on creation time, and a filter that keeps 12 of 23.
            if i % 2 == 0 {
                new.owner = Some(alice.id);
            }
            created.push(create(store, &new).id.get());
        }

        let mut seen = Vec::new();
        for (page, len) in [(0, 10), (1, 10), (2, 3), (3, 0)] {
            let mut q = sorted(SortField::CreationTime, SortDir::Asc);
            q.page = PageRequest::new(Some(&page.to_string()), Some("10")).unwrap();
            let got = store.list_processes(&q).unwrap();
            assert_eq!(got.total, 23, "page {page}");
            assert_eq!(got.total_pages(), 3);
            assert_eq!(got.request, q.page);
            assert_eq!(got.items.len(), len, "page {page}");
            seen.extend(ids(&got.items));
        }
        let unique: BTreeSet<_> = seen.iter().copied().collect();
        assert_eq!(unique.len(), 23);
        assert_eq!(unique, created.iter().copied().collect());
        // The pages are in creation order, ties by id.
        let mut by_time = seen.clone();
        by_time.sort_by_key(|id| {
            let i = created.iter().position(|c| c == id).unwrap();
            (i % 5, *id)
        });
        assert_eq!(seen, by_time);

        let mut q = ProcessQuery::new(ListScope::OwnedBy(alice.id));
        q.page = PageRequest::new(Some("1"), Some("5")).unwrap();
        let got = store.list_processes(&q).unwrap();
        assert_eq!(got.total, 12);
        assert_eq!(got.items.len(), 5);
        assert_eq!(got.total_pages(), 3);
        assert!(got.items.iter().all(|p| p.owner == Some(alice.id)));
    });
}

/// A long value nobody can compress (PostgreSQL refused it once whole values were indexed)
/// is stored, and found by its whole value only: one that shares its indexed prefix is not.
#[test]
fn long_parameter_values_are_stored_and_matched_whole() {
    // A simple generator is enough: the point is bytes that do not compress.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let long: String = (0..8 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'!' + u8::try_from(state % 94).unwrap())
        })
        .collect();
    let mut twin = long.clone();
    twin.pop();
    twin.push(if long.ends_with('x') { 'y' } else { 'x' });
    each_backend(|store| {
        let mut new = new_process("long", at(1));
        new.parameters = vec![param("-s", &long)];
        let stored = create(store, &new);
        assert_eq!(stored.parameters[0].value, long);
        let mut other = new_process("long", at(2));
        other.parameters = vec![param("-s", &twin)];
        create(store, &other);
        let mut q = ProcessQuery::new(ListScope::All);
        q.parameters = vec![param("-s", &long).into()];
        let page = store.list_processes(&q).unwrap();
        assert_eq!(ids(&page.items), [stored.id.get()]);
    });
}
