//! Integration tests of the store. Every test runs against both backends: a SQLite file in a
//! temporary directory and, when a server is reachable, a fresh PostgreSQL database (set
//! `PROCESSD_REQUIRE_POSTGRES=1` to fail instead of skipping PostgreSQL).

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod concurrency;
mod counts;
mod events;
mod files;
mod listing;
mod maintenance;
mod migrations;
mod output;
mod processes;
mod profiles;
mod repository;
mod uploads;
mod users;

use std::path::Path;

use process_core::{
    DependencyType, NewProcess, Param, Process, ProcessId, ScriptName, StatusReason, Transition,
    User,
};
use process_datadir::Layout;
use process_store::testing::TestDatabase;
use process_store::Store;
use tempfile::TempDir;
use time::OffsetDateTime;

/// Runs `f` on a migrated store of each backend.
pub fn each_backend(f: impl Fn(&Store)) {
    each_database(|store| {
        store.migrate().unwrap();
        f(store);
    });
}

/// Runs `f` on a store of each backend whose database has not been migrated.
pub fn each_database(f: impl Fn(&Store)) {
    let dir = TempDir::new().unwrap();
    run(&TestDatabase::sqlite(dir.path()), dir.path(), &f);
    if let Some(db) = TestDatabase::postgres() {
        let dir = TempDir::new().unwrap();
        run(&db, dir.path(), &f);
    }
}

fn run(db: &TestDatabase, dir: &Path, f: &impl Fn(&Store)) {
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    // Printed first so that a failure's captured output names its backend.
    eprintln!("{test}: running on {}", db.backend);
    let store = Store::open(&db.url, Layout::new(dir.join("data"))).unwrap();
    assert_eq!(store.backend(), db.backend);
    f(&store);
    // The pool must be closed before `db` drops its PostgreSQL database.
    drop(store);
    eprintln!("{test}: passed on {}", db.backend);
}

/// A whole second after a fixed instant, so that times survive the store's microseconds.
pub fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + secs).unwrap()
}

pub fn script(name: &str) -> ScriptName {
    ScriptName::parse(name).unwrap()
}

pub fn param(name: &str, value: &str) -> Param {
    Param {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// A process with no parameters, dependencies or start time.
pub fn new_process(script_name: &str, creation: OffsetDateTime) -> NewProcess {
    NewProcess {
        owner: None,
        script: script(script_name),
        creation_time: creation,
        parameters: Vec::new(),
        not_before: None,
        depends_on: Vec::new(),
        dependency_type: DependencyType::AfterOk,
        access_hash: None,
    }
}

pub fn create(store: &Store, new: &NewProcess) -> Process {
    store.create_process(new, &[]).unwrap()
}

pub fn user(store: &Store, name: &str) -> User {
    store.upsert_user(name, false, &[], at(0)).unwrap()
}

pub fn start(store: &Store, id: ProcessId, secs: i64) -> Option<Process> {
    store
        .transition(
            id,
            &Transition::Start {
                at: at(secs),
                executor_job_id: None,
            },
        )
        .unwrap()
}

pub fn complete(store: &Store, id: ProcessId, secs: i64) -> Option<Process> {
    store
        .transition(id, &Transition::Complete { at: at(secs) })
        .unwrap()
}

pub fn fail(store: &Store, id: ProcessId, secs: i64) -> Option<Process> {
    store
        .transition(
            id,
            &Transition::Fail {
                at: at(secs),
                reason: StatusReason::Exit,
                exit_code: Some(1),
            },
        )
        .unwrap()
}

pub fn ids(processes: &[Process]) -> Vec<i64> {
    processes.iter().map(|p| p.id.get()).collect()
}
