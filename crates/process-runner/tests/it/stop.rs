//! Stop requests: of a running job, of a process not started yet, of one already over, and
//! one that arrives while the scheduler is claiming the process.

use std::time::Duration;

use process_core::{NewProcess, ProcessId, ProcessStatus, StatusReason, Stream};
use process_runner::StopResult;
use time::OffsetDateTime;

use crate::fake::Plan;
use crate::harness::{config, line, new_process, note, wait_until, Harness};

/// Asserts that `id` ended FAILED `stopped` and that no job of it ran on unnoticed.
fn assert_stopped(h: &Harness, id: ProcessId, result: StopResult) {
    let p = h.process(id);
    assert_eq!(p.status(), ProcessStatus::Failed, "{p:?}");
    assert_eq!(p.status_reason, Some(StatusReason::Stopped), "{p:?}");
    match result {
        StopResult::Cancelled => assert!(h.fake.started(id).is_none(), "{p:?}"),
        StopResult::Stopping => assert!(
            h.fake.started(id).is_none() || h.fake.saw_stop(id),
            "the job of {id} ran without seeing its stop"
        ),
        StopResult::AlreadyFinished => panic!("the stop of {id} was lost"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_running_job_fails_it_as_stopped() {
    let h = Harness::running(config());
    let id = h.launch("job", Plan::new().out("one").err("two").hold());
    h.wait_lines(id, 2).await;
    assert_eq!(h.runner.stop(id).await.unwrap(), StopResult::Stopping);
    let p = h.wait_done(id).await;
    assert_stopped(&h, id, StopResult::Stopping);
    assert!(h.fake.saw_stop(id));
    assert_eq!(p.exit_code, None);
    assert_eq!(
        h.texts(id),
        [
            line(1, Stream::Stdout, "one"),
            line(2, Stream::Stderr, "two"),
            note(3, "stopped on request"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_waiting_process_fails_it_without_running() {
    let h = Harness::running(config());
    let id = h.launch_new(
        NewProcess {
            not_before: Some(OffsetDateTime::now_utc() + Duration::from_secs(3600)),
            ..new_process("job")
        },
        Plan::new(),
    );
    h.scheduler_rounds(1).await;
    assert_eq!(h.runner.stop(id).await.unwrap(), StopResult::Cancelled);
    let p = h.process(id);
    assert_stopped(&h, id, StopResult::Cancelled);
    assert_eq!(p.start_time, None);
    assert!(p.end_time.is_some());
    assert_eq!(h.texts(id), [note(1, "stopped before it started")]);
    // A second stop finds nothing left to stop.
    assert_eq!(
        h.runner.stop(id).await.unwrap(),
        StopResult::AlreadyFinished
    );
    h.scheduler_rounds(2).await;
    assert!(h.fake.started_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_finished_process_changes_nothing() {
    let h = Harness::running(config());
    let id = h.launch("job", Plan::new().out("done"));
    let before = h.wait_done(id).await;
    assert_eq!(before.status(), ProcessStatus::Completed);
    assert_eq!(
        h.runner.stop(id).await.unwrap(),
        StopResult::AlreadyFinished
    );
    assert_eq!(h.process(id), before);
    assert_eq!(h.texts(id), [line(1, Stream::Stdout, "done")]);
}

/// The claim has made the process RUNNING in the store but the runner has not registered
/// it yet: a stop then must wait for the registration, not conclude the process is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_claim_reaches_the_claimed_process() {
    let h = Harness::running(config());
    h.repo.pause_claims();
    let id = h.launch("job", Plan::new().hold());
    wait_until("the claim is paused", || h.repo.claim_paused()).await;
    assert_eq!(h.status(id), ProcessStatus::Running);
    let stopping = tokio::spawn({
        let runner = h.runner.clone();
        async move { runner.stop(id).await.unwrap() }
    });
    // Gives the stop time to reach the runner while the claim is still paused; the outcome
    // is asserted either way.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !stopping.is_finished(),
        "the stop did not wait for the claim"
    );
    h.repo.resume_claims();
    let result = stopping.await.unwrap();
    assert_eq!(result, StopResult::Stopping);
    h.wait_done(id).await;
    assert_stopped(&h, id, result);
}

/// Launch, wake, stop at once, many times over, with the stop landing at different points
/// of the scheduler's round: every process ends stopped, and every job that started saw
/// its stop (the jobs hold until stopped, so a lost stop leaves one running forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_racing_the_scheduler_is_never_lost() {
    let h = Harness::running(config());
    let mut counts = [0; 2];
    for i in 0..200 {
        let id = h.launch("job", Plan::new().hold());
        for _ in 0..i % 4 {
            tokio::task::yield_now().await;
        }
        let result = h.runner.stop(id).await.unwrap();
        assert_ne!(
            result,
            StopResult::AlreadyFinished,
            "the stop of {id} was lost"
        );
        h.wait_done(id).await;
        assert_stopped(&h, id, result);
        counts[usize::from(result == StopResult::Stopping)] += 1;
    }
    eprintln!(
        "cancelled before the claim: {}, stopped after it: {}",
        counts[0], counts[1]
    );
}

/// The same race against jobs that end at once: a stop either wins (FAILED `stopped`) or
/// comes after the end, which then stands; the process always ends, and a job that was
/// stopped never also completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_racing_a_completing_job_leaves_one_consistent_end() {
    let h = Harness::running(config());
    for i in 0..200 {
        let id = h.launch("job", Plan::new().out("ran"));
        for _ in 0..i % 4 {
            tokio::task::yield_now().await;
        }
        let result = h.runner.stop(id).await.unwrap();
        let p = h.wait_done(id).await;
        let stopped = p.status_reason == Some(StatusReason::Stopped);
        match result {
            StopResult::Cancelled => assert_stopped(&h, id, result),
            StopResult::Stopping if stopped => assert_stopped(&h, id, result),
            // The job ended before it noticed the stop: its real end is recorded.
            StopResult::Stopping | StopResult::AlreadyFinished => {
                assert_eq!(p.status(), ProcessStatus::Completed, "{p:?}");
                assert!(!h.fake.saw_stop(id));
                assert_eq!(h.texts(id), [line(1, Stream::Stdout, "ran")]);
            }
        }
    }
}
