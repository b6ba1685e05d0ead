//! Many writers at once: on SQLite this must wait for the lock, never fail with
//! "database is locked".

use std::sync::Barrier;

use process_core::OutputRange;
use process_core::{
    ListScope, OutputLine, ProcessId, ProcessQuery, ProcessRepository, ProcessStatus, Stream,
};
use process_datadir::Layout;
use process_store::testing::TestDatabase;
use process_store::Store;

use crate::{at, complete, each_backend, new_process, param, start};

const THREADS: usize = 8;
const ROUNDS: i64 = 10;
const BATCHES: i64 = 10;
const BATCH: i64 = 100;

fn batch(thread: usize, first: i64) -> Vec<OutputLine> {
    (first..first + BATCH)
        .map(|seq| OutputLine {
            seq,
            time: at(seq),
            stream: Stream::Stdout,
            line: format!("thread {thread} line {seq}"),
        })
        .collect()
}

/// One writer: creates processes and runs them, appending output in batches.
fn writer(store: &Store, thread: usize, barrier: &Barrier) -> Vec<i64> {
    let name = format!("t{thread}");
    barrier.wait();
    let mut ids = Vec::new();
    for round in 0..ROUNDS {
        let mut new = new_process(&name, at(round));
        new.parameters = vec![param("-r", &round.to_string())];
        let p = store
            .create_process(&new, &[])
            .unwrap_or_else(|e| panic!("{}: create in thread {thread}: {e}", store.backend()));
        start(store, p.id, round).unwrap();
        for b in 0..BATCHES {
            store
                .append_output(p.id, &batch(thread, b * BATCH + 1))
                .unwrap_or_else(|e| panic!("{}: append in thread {thread}: {e}", store.backend()));
            let percent = u8::try_from(b * 100 / BATCHES).unwrap();
            ProcessRepository::set_progress(store, p.id, percent).unwrap_or_else(|e| {
                panic!("{}: progress in thread {thread}: {e}", store.backend())
            });
        }
        complete(store, p.id, round + 1).unwrap();
        ids.push(p.id.get());
    }
    ids
}

#[test]
fn eight_writers_at_once_never_see_a_locked_database() {
    each_backend(|store| {
        let barrier = Barrier::new(THREADS);
        let per_thread: Vec<Vec<i64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let barrier = &barrier;
                    scope.spawn(move || writer(store, t, barrier))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });

        let all = ProcessQuery::new(ListScope::All);
        let total = THREADS as u64 * ROUNDS as u64;
        assert_eq!(store.list_processes(&all).unwrap().total, total);
        for (thread, ids) in per_thread.iter().enumerate() {
            assert_eq!(ids.len(), ROUNDS as usize);
            for id in ids {
                let id = ProcessId::new(*id).unwrap();
                let p = store.get_process(id).unwrap().unwrap();
                assert_eq!(p.status(), ProcessStatus::Completed);
                assert_eq!(p.script.as_str(), format!("t{thread}"));
                let lines = store
                    .read_output(id, OutputRange::default(), 10_000)
                    .unwrap();
                assert_eq!(lines.len() as i64, BATCHES * BATCH);
                assert!(lines.iter().zip(1..).all(
                    |(l, seq)| l.seq == seq && l.line == format!("thread {thread} line {seq}")
                ));
            }
        }
    });
}

#[test]
fn concurrent_user_and_token_writes() {
    each_backend(|store| {
        let barrier = Barrier::new(THREADS);
        let users: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        let name = format!("user{t}");
                        let groups = [format!("g{t}")];
                        let user = store
                            .upsert_user(&name, t % 2 == 0, &groups, at(0))
                            .unwrap_or_else(|e| panic!("{}: upsert: {e}", store.backend()));
                        let token = store
                            .create_token(user.id, at(0), None)
                            .unwrap_or_else(|e| panic!("{}: token: {e}", store.backend()));
                        (user, token)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (t, (user, token)) in users.iter().enumerate() {
            assert_eq!(user.name, format!("user{t}"));
            assert_eq!(user.admin, t % 2 == 0);
            assert_eq!(user.groups, [format!("g{t}")]);
            assert_eq!(store.get_user(user.id).unwrap().as_ref(), Some(user));
            assert_eq!(
                store.user_by_token(token, at(0)).unwrap().as_ref(),
                Some(user)
            );
        }
    });
}

/// SQLite only: this is about a new database file. Switching a file to WAL takes the write
/// lock, which SQLite does not wait for while other new connections hold read locks; when the
/// pool's connections all did it at once, most failed with "database is locked" and r2d2
/// retried them after a 200 ms back-off, so every open took 400 ms or more (and could fail).
#[test]
fn fresh_sqlite_stores_open_without_lock_retries() {
    const OPENS: u32 = 10;
    let started = std::time::Instant::now();
    for _ in 0..OPENS {
        let dir = tempfile::TempDir::new().unwrap();
        let db = TestDatabase::sqlite(dir.path());
        let store = Store::open(&db.url, Layout::new(dir.path().join("data"))).unwrap();
        store.migrate().unwrap();
    }
    let elapsed = started.elapsed();
    // Each open takes a few milliseconds; one lock retry alone costs 200 ms.
    assert!(
        elapsed < std::time::Duration::from_millis(200) * OPENS,
        "{OPENS} opens took {elapsed:?}: connections are retried after lock errors"
    );
}
