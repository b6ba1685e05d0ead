//! Which process runs when: slots, creation order, start times and dependencies.

use std::time::Duration;

use process_core::{DependencyType, NewProcess, ProcessId, ProcessStatus, StatusReason};
use time::OffsetDateTime;

use crate::fake::Plan;
use crate::harness::{config, new_process, note, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_runs_its_slots_in_creation_order() {
    let h = Harness::running(process_runner::RunnerConfig {
        max_concurrent: 2,
        ..config()
    });
    let ids: Vec<_> = (0..5)
        .map(|_| h.launch("job", Plan::new().out("started").hold()))
        .collect();
    h.wait_started(ids[0]).await;
    h.wait_started(ids[1]).await;
    h.scheduler_rounds(2).await;
    // Processes claimed together start concurrently, so only the set is ordered.
    assert_eq!(started_sorted(&h), ids[..2]);
    let statuses: Vec<_> = ids.iter().map(|id| h.status(*id)).collect();
    use ProcessStatus::{Running, Scheduled};
    assert_eq!(
        statuses,
        [Running, Running, Scheduled, Scheduled, Scheduled]
    );
    assert_eq!(h.runner.running_count(), 2);

    // A slot frees: the oldest waiting process takes it, and only that one.
    h.fake.release(ids[0]);
    let first = h.wait_done(ids[0]).await;
    assert_eq!(first.status(), ProcessStatus::Completed);
    h.wait_started(ids[2]).await;
    h.scheduler_rounds(2).await;
    assert_eq!(started_sorted(&h), ids[..3]);
    assert_eq!(h.fake.started_ids()[2], ids[2]);
    assert_eq!(h.status(ids[3]), Scheduled);
    assert_eq!(h.status(ids[4]), Scheduled);
    let third = h.process(ids[2]);
    assert!(third.start_time.unwrap() >= first.end_time.unwrap());

    for id in &ids[1..] {
        h.fake.release(*id);
    }
    for id in &ids {
        assert_eq!(h.wait_done(*id).await.status(), ProcessStatus::Completed);
    }
    assert_eq!(started_sorted(&h), ids);
    assert_eq!(h.fake.most_running(), 2);
}

fn started_sorted(h: &Harness) -> Vec<ProcessId> {
    let mut ids = h.fake.started_ids();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_time_defers_a_process_until_it_comes() {
    let h = Harness::running(config());
    let at = OffsetDateTime::now_utc() + Duration::from_millis(300);
    let later = h.launch_new(
        NewProcess {
            not_before: Some(at),
            ..new_process("job")
        },
        Plan::new().out("ran"),
    );
    let past = h.launch_new(
        NewProcess {
            not_before: Some(OffsetDateTime::now_utc() - Duration::from_secs(3600)),
            ..new_process("job")
        },
        Plan::new(),
    );
    // A start time already past means now.
    assert_eq!(h.wait_done(past).await.status(), ProcessStatus::Completed);

    // Nothing polls (the poll interval is a minute): the scheduler sleeps until the next
    // start time, then starts it.
    let done = h.wait_done(later).await;
    assert_eq!(done.status(), ProcessStatus::Completed);
    assert!(h.fake.started(later).unwrap().at >= at);
    assert!(done.start_time.unwrap() >= at);
    // It slept rather than spinning: a handful of rounds, not thousands.
    assert!(h.repo.rounds() < 20, "{} rounds", h.repo.rounds());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependencies_decide_whether_and_when_a_process_runs() {
    let h = Harness::running(config());
    let after = |parent, ty| NewProcess {
        depends_on: vec![parent],
        dependency_type: ty,
        access_hash: None,
        ..new_process("job")
    };

    // afterok waits while its parent runs, and runs once it completed.
    let parent = h.launch("job", Plan::new().hold());
    let child = h.launch_new(
        after(parent, DependencyType::AfterOk),
        Plan::new().out("child"),
    );
    h.wait_started(parent).await;
    h.scheduler_rounds(2).await;
    assert_eq!(h.status(child), ProcessStatus::Scheduled);
    assert!(h.fake.started(child).is_none());
    h.fake.release(parent);
    let parent_done = h.wait_done(parent).await;
    let child_done = h.wait_done(child).await;
    assert_eq!(child_done.status(), ProcessStatus::Completed);
    assert!(child_done.start_time.unwrap() >= parent_done.end_time.unwrap());

    // A failed parent: afterok fails without running, afterany runs.
    let failing = h.launch("job", Plan::new().hold().exit(2));
    let needs_ok = h.launch_new(after(failing, DependencyType::AfterOk), Plan::new());
    let needs_end = h.launch_new(
        after(failing, DependencyType::AfterAny),
        Plan::new().out("ran anyway"),
    );
    h.wait_started(failing).await;
    h.fake.release(failing);
    assert_eq!(h.wait_done(failing).await.exit_code, Some(2));

    let unmet = h.wait_done(needs_ok).await;
    assert_eq!(unmet.status(), ProcessStatus::Failed);
    assert_eq!(unmet.status_reason, Some(StatusReason::Dependency));
    assert_eq!(unmet.start_time, None);
    assert_eq!(unmet.exit_code, None);
    assert!(h.fake.started(needs_ok).is_none());
    h.wait_lines(needs_ok, 1).await;
    assert_eq!(
        h.texts(needs_ok),
        [note(
            1,
            &format!("not run: dependency {failing} did not complete")
        )]
    );

    let ran = h.wait_done(needs_end).await;
    assert_eq!(ran.status(), ProcessStatus::Completed);
    assert!(h.fake.started(needs_end).is_some());
}
