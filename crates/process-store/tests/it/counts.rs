//! The per-status counts the triggers keep stay equal to real counts through inserts,
//! transitions and deletes, and listings by status report them as totals.

use process_core::{ListScope, PageRequest, ProcessQuery, ProcessStatus};
use process_store::Store;

use crate::{at, complete, create, each_backend, fail, new_process, start};

fn total(store: &Store, status: Option<ProcessStatus>, script: Option<&str>) -> u64 {
    let mut q = ProcessQuery::new(ListScope::All);
    q.status = status;
    q.script = script.map(crate::script);
    q.page = PageRequest::first(1);
    store.list_processes(&q).unwrap().total
}

fn check(store: &Store) {
    let counts = store.count_by_status().unwrap();
    for status in ProcessStatus::ALL {
        let kept = counts
            .iter()
            .find(|(s, _)| s == status.as_str())
            .map_or(0, |(_, n)| *n);
        // A filter on the script forces a real count(*): both must agree.
        let real = total(store, Some(*status), Some("counted"));
        assert_eq!(kept as u64, real, "{status}");
        assert_eq!(total(store, Some(*status), None), real, "{status}");
    }
    assert_eq!(
        total(store, None, None),
        total(store, None, Some("counted"))
    );
}

#[test]
fn status_counts_follow_every_change() {
    each_backend(|store| {
        check(store);
        let ids: Vec<_> = (0..6)
            .map(|i| create(store, &new_process("counted", at(i))).id)
            .collect();
        check(store);
        start(store, ids[0], 10);
        start(store, ids[1], 10);
        start(store, ids[2], 10);
        check(store);
        complete(store, ids[0], 11);
        fail(store, ids[1], 11);
        fail(store, ids[3], 11);
        // A lost compare-and-set changes nothing.
        assert!(complete(store, ids[3], 12).is_none());
        check(store);
        store
            .delete_process(ids[0], process_store::Waiters::Refuse)
            .unwrap();
        store
            .delete_process(ids[3], process_store::Waiters::Refuse)
            .unwrap();
        check(store);
        assert_eq!(total(store, Some(ProcessStatus::Scheduled), None), 2);
        assert_eq!(total(store, Some(ProcessStatus::Running), None), 1);
        assert_eq!(total(store, Some(ProcessStatus::Failed), None), 1);
        assert_eq!(total(store, Some(ProcessStatus::Completed), None), 0);
    });
}
