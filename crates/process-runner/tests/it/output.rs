//! Captured output: numbering, progress, the output cap, spawn failures and live followers.

use std::sync::Arc;
use std::time::Duration;

use process_core::{OutputLine, ProcessStatus, StatusReason, Stream};
use process_runner::RunnerConfig;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::fake::Plan;
use crate::harness::{config, line, note, wait_until, Harness};
use crate::memory::Op;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_are_numbered_from_one_across_both_streams() {
    let h = Harness::running(config());
    let id = h.launch(
        "job",
        Plan::new().out("a").err("b").err("c").out("").out("d"),
    );
    let p = h.wait_done(id).await;
    assert_eq!(p.status(), ProcessStatus::Completed);
    assert_eq!(
        h.texts(id),
        [
            line(1, Stream::Stdout, "a"),
            line(2, Stream::Stderr, "b"),
            line(3, Stream::Stderr, "c"),
            line(4, Stream::Stdout, ""),
            line(5, Stream::Stdout, "d"),
        ]
    );
    assert_eq!(h.runner.lines_captured(), 5);
    assert!(!p.output_truncated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_lines_set_the_percentage() {
    let h = Harness::running(config());
    let id = h.launch(
        "job",
        Plan::new()
            .out("::progress::10")
            .out("::progress::40")
            .out("::progress::400")
            .hold()
            .exit(1),
    );
    wait_until("progress is 40", || {
        h.process(id).percent_complete == Some(40)
    })
    .await;
    h.fake.release(id);
    let p = h.wait_done(id).await;
    // A failure leaves the last progress; the lines themselves are kept as written.
    assert_eq!(p.status_reason, Some(StatusReason::Exit));
    assert_eq!(p.percent_complete, Some(40));
    assert_eq!(
        h.texts(id),
        [
            line(1, Stream::Stdout, "::progress::10"),
            line(2, Stream::Stdout, "::progress::40"),
            line(3, Stream::Stdout, "::progress::400"),
            note(4, "exited with code 1"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_over_the_cap_is_cut_with_a_marker() {
    let h = Harness::running(RunnerConfig {
        max_output_bytes: 100,
        ..config()
    });
    // Each line costs its length plus a newline: two of 49 bytes fit in 100, the third does not.
    let (a, b) = ("a".repeat(49), "b".repeat(49));
    let id = h.launch(
        "job",
        Plan::new()
            .out(&a)
            .err(&b)
            .out("over")
            .out("::progress::50")
            .exit(0),
    );
    let p = h.wait_done(id).await;
    assert_eq!(p.status(), ProcessStatus::Completed);
    assert!(p.output_truncated);
    assert_eq!(
        h.texts(id),
        [
            line(1, Stream::Stdout, &a),
            line(2, Stream::Stderr, &b),
            line(
                3,
                Stream::Stdout,
                "[processd: output truncated: more than 100 bytes; the script keeps running]"
            ),
        ]
    );
}

/// Every line is a stored record: empty lines count as `MIN_LINE_COST` bytes, so a flood of
/// them cannot store many times the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lines_count_at_least_their_storage_cost() {
    let h = Harness::running(RunnerConfig {
        max_output_bytes: 480,
        ..config()
    });
    let mut plan = Plan::new();
    for _ in 0..100 {
        plan = plan.out("");
    }
    let id = h.launch("job", plan.exit(0));
    let p = h.wait_done(id).await;
    assert!(p.output_truncated);
    let texts = h.texts(id);
    assert_eq!(
        texts.len(),
        11,
        "ten empty lines of 48 bytes, then the marker"
    );
    assert!(texts[10].2.contains("output truncated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_cannot_start_fails_as_spawn() {
    let h = Harness::running(config());
    let id = h.launch("job", Plan::refused("no such file"));
    let p = h.wait_done(id).await;
    assert_eq!(p.status(), ProcessStatus::Failed);
    assert_eq!(p.status_reason, Some(StatusReason::Spawn));
    assert_eq!(p.exit_code, None);
    assert_eq!(p.executor_job_id, None);
    assert!(h.fake.started(id).is_none());
    assert_eq!(
        h.texts(id),
        [note(1, "cannot start /opt/scripts/job: no such file")]
    );
}

/// A follower that subscribes while the job runs gets the batches stored from then on, in
/// order, and its channel closes once the end is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_receives_the_batches_stored_while_it_listens() {
    let h = Harness::running(config());
    let id = h.launch(
        "job",
        Plan::new()
            .out("before")
            .hold()
            .out("a")
            .err("b")
            .hold()
            .out("c")
            .exit(4),
    );
    h.wait_lines(id, 1).await;
    let mut live = h.runner.follow(id).unwrap();
    let mut got = Vec::new();
    h.fake.release(id);
    while got.iter().filter(|(seq, _, _)| *seq > 1).count() < 2 {
        assert!(
            next_batch(&mut live, &mut got).await,
            "closed early: {got:?}"
        );
    }
    h.fake.release(id);
    while next_batch(&mut live, &mut got).await {}
    // A batch is announced just after it is stored, so a follower that subscribed in between
    // also gets the batch it already read from the store; followers skip what they have by
    // sequence number, and so does this one.
    got.retain(|(seq, _, _)| *seq > 1);
    assert_eq!(
        got,
        [
            line(2, Stream::Stdout, "a"),
            line(3, Stream::Stderr, "b"),
            line(4, Stream::Stdout, "c"),
        ]
    );
    // The closing line is in the store, which a follower reads once its channel closes.
    assert_eq!(h.texts(id).last().unwrap(), &note(5, "exited with code 4"));
    assert_eq!(h.status(id), ProcessStatus::Failed);
    assert!(h.runner.follow(id).is_none());
}

/// Adds the next live batch to `got`; false once the channel has closed.
async fn next_batch(
    live: &mut broadcast::Receiver<Arc<Vec<OutputLine>>>,
    got: &mut Vec<(i64, Stream, String)>,
) -> bool {
    let batch = tokio::time::timeout(Duration::from_secs(10), live.recv())
        .await
        .unwrap();
    match batch {
        Ok(b) => {
            got.extend(b.iter().map(|l| (l.seq, l.stream, l.line.clone())));
            true
        }
        Err(RecvError::Closed) => false,
        Err(RecvError::Lagged(n)) => panic!("lagged by {n}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_output_write_is_retried_without_duplicates() {
    let h = Harness::running(config());
    let id = h.launch(
        "job",
        Plan::new().out("one").hold().out("two").err("three").hold(),
    );
    h.wait_lines(id, 1).await;
    h.repo.fail_next(Op::AppendOutput, 2);
    h.fake.release(id);
    h.wait_lines(id, 3).await;
    assert_eq!(h.repo.failures_left(Op::AppendOutput), 0);
    h.fake.release(id);
    h.wait_done(id).await;
    assert_eq!(
        h.texts(id),
        [
            line(1, Stream::Stdout, "one"),
            line(2, Stream::Stdout, "two"),
            line(3, Stream::Stderr, "three"),
        ]
    );
    assert_eq!(h.runner.lines_captured(), 3);
}
