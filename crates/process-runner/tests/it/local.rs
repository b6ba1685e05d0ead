//! The local executor through the executor port alone: start, wait, cancel and recover by job
//! id, with real child processes.

use std::collections::BTreeMap;
use std::time::Duration;

use process_core::ProcessId;
use process_runner::{Executor, Job, LocalExecutor, Outcome, Recovered};
use tokio::sync::{mpsc, watch};

fn job(argv: &[&str], dir: &std::path::Path) -> Job {
    Job {
        process: ProcessId::new(1).unwrap(),
        argv: argv.iter().map(|a| (*a).to_owned()).collect(),
        env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
        work_dir: dir.to_owned(),
        writable: vec![dir.to_owned()],
        readable: Vec::new(),
        timeout: None,
    }
}

/// Unconfined: these tests are about the port; containment has tests of its own.
fn executor() -> LocalExecutor {
    LocalExecutor {
        kill_grace: Duration::from_millis(200),
        ..LocalExecutor::default()
    }
}

/// Whether the leader of a `local:<pid>:...` job is still alive (not a zombie).
fn alive(job_id: &str) -> bool {
    process_runner::procinfo::live_group(job_id).is_some()
}

#[tokio::test]
async fn a_job_is_cancelled_by_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = mpsc::channel(16);
    let running = executor()
        .start(job(&["sleep", "30"], dir.path()), tx)
        .await
        .unwrap();
    let id = running.job_id().to_owned();
    assert!(id.starts_with("local:"), "{id}");
    let (_stop, stop) = watch::channel(false);
    let waiting = tokio::spawn(running.wait(stop));
    executor().cancel(&id).await;
    let outcome = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the job ends once cancelled")
        .unwrap();
    assert!(matches!(outcome, Outcome::Signaled(15)), "{outcome:?}");
}

#[tokio::test]
async fn recovery_kills_what_is_left_and_reports_a_gone_job() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = mpsc::channel(16);
    let running = executor()
        .start(job(&["sleep", "30"], dir.path()), tx.clone())
        .await
        .unwrap();
    let id = running.job_id().to_owned();
    // As after a crash: nobody waits for the job any more.
    let (_stop, stop) = watch::channel(false);
    let waiting = tokio::spawn(running.wait(stop));
    assert!(alive(&id));
    let process = ProcessId::new(1).unwrap();
    match executor().recover(process, &id, tx.clone()).await {
        Recovered::Killed(what) => assert!(what.contains("process group"), "{what}"),
        _ => panic!("a live job is killed on recovery"),
    }
    let outcome = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, Outcome::Signaled(9)), "{outcome:?}");
    assert!(matches!(
        executor().recover(process, &id, tx).await,
        Recovered::Gone
    ));
}

#[tokio::test]
async fn a_command_that_cannot_start_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = mpsc::channel(16);
    let Err(e) = executor()
        .start(job(&["/nonexistent/program"], dir.path()), tx)
        .await
    else {
        panic!("a missing program cannot start");
    };
    assert!(
        e.to_string().contains("cannot start /nonexistent/program"),
        "{e}"
    );
}
