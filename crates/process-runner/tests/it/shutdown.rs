//! Shutting the node down: runs get their grace, then end `interrupted`.

use std::time::Duration;

use process_core::{ProcessStatus, StatusReason, Stream};

use crate::fake::Plan;
use crate::harness::{config, line, note, wait_until, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_still_running_after_the_grace_is_interrupted() {
    let h = Harness::running(config());
    let id = h.launch("job", Plan::new().out("working").hold());
    h.wait_lines(id, 1).await;
    h.runner.shutdown(Duration::from_millis(50)).await;
    // Shutdown returns once every run is recorded: nothing to wait for.
    let p = h.process(id);
    assert_eq!(p.status(), ProcessStatus::Failed);
    assert_eq!(p.status_reason, Some(StatusReason::Interrupted));
    assert!(h.fake.saw_stop(id));
    assert_eq!(
        h.texts(id),
        [
            line(1, Stream::Stdout, "working"),
            note(2, "interrupted: processd shut down while this ran"),
        ]
    );
    assert_eq!(h.runner.running_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_ending_within_the_grace_ends_normally_and_nothing_new_starts() {
    let h = Harness::running(config());
    let id = h.launch("job", Plan::new().hold());
    h.wait_started(id).await;
    let shutdown = tokio::spawn({
        let runner = h.runner.clone();
        async move { runner.shutdown(Duration::from_secs(30)).await }
    });
    wait_until("the runner drains", || h.runner.is_draining()).await;
    let queued = h.launch("job", Plan::new());
    h.fake.release(id);
    shutdown.await.unwrap();
    let p = h.process(id);
    assert_eq!(p.status(), ProcessStatus::Completed);
    assert!(!h.fake.saw_stop(id));
    assert_eq!(h.status(queued), ProcessStatus::Scheduled);
    assert_eq!(h.fake.started_ids(), [id]);
}

/// A claim in progress when the shutdown begins: what it claimed is still stopped and
/// recorded before the shutdown returns, rather than left to start once it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_during_a_claim_interrupts_what_was_claimed() {
    let h = Harness::running(config());
    h.repo.pause_claims();
    let id = h.launch("job", Plan::new().hold());
    wait_until("the claim is paused", || h.repo.claim_paused()).await;
    let shutdown = tokio::spawn({
        let runner = h.runner.clone();
        async move { runner.shutdown(Duration::ZERO).await }
    });
    wait_until("the runner drains", || h.runner.is_draining()).await;
    h.repo.resume_claims();
    shutdown.await.unwrap();
    let p = h.process(id);
    assert_eq!(p.status(), ProcessStatus::Failed, "{p:?}");
    assert_eq!(p.status_reason, Some(StatusReason::Interrupted));
    assert!(h.fake.started(id).is_none() || h.fake.saw_stop(id));
    assert_eq!(h.runner.running_count(), 0);
}
