//! Recovery after a restart: what the executor says of each job left RUNNING decides whether
//! the process is followed again or ends `interrupted`. Nothing is ever run again.

use process_core::{ProcessStatus, StatusReason, Stream};

use crate::fake::{Plan, Recovery};
use crate::harness::{config, line, new_process, note, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_left_running_are_interrupted_or_followed_again() {
    let mut h = Harness::new(config());
    let left = |job: Option<&str>| {
        h.repo
            .insert_running(new_process("job"), "local", job, &["first", "second"])
    };
    let gone = left(Some("fake:1"));
    let killed = left(Some("fake:2"));
    let reattached = left(Some("fake:3"));
    let unknown_executor = left(Some("batch:7"));
    let no_job = left(None);
    let elsewhere = h
        .repo
        .insert_running(new_process("job"), "another-node", Some("fake:4"), &[]);
    h.fake.on_recover("fake:1", Recovery::Gone);
    h.fake.on_recover(
        "fake:2",
        Recovery::Killed("its process group 7 was killed".to_owned()),
    );
    h.fake.on_recover(
        "fake:3",
        Recovery::Reattach(Plan::new().out("third").err("fourth").hold().exit(0)),
    );

    let mut resolved = h.runner.recover().await.unwrap();
    resolved.sort();
    assert_eq!(resolved, [gone, killed, unknown_executor, no_job]);
    // Only jobs whose executor exists are asked about, and only this node's; a job whose id
    // was never recorded is asked about with an empty id on its script's executor, which may
    // still find what it started.
    assert_eq!(
        h.fake.recovers(),
        [
            (gone, "fake:1".to_owned()),
            (killed, "fake:2".to_owned()),
            (reattached, "fake:3".to_owned()),
            (no_job, String::new()),
        ]
    );
    let kept = [
        line(1, Stream::Stdout, "first"),
        line(2, Stream::Stdout, "second"),
    ];
    for (id, closing) in [
        (gone, "interrupted: processd stopped while this ran"),
        (
            killed,
            "interrupted: processd restarted while this ran; its process group 7 was killed",
        ),
        (
            unknown_executor,
            "interrupted: processd stopped while this ran",
        ),
        (no_job, "interrupted: processd stopped while this ran"),
    ] {
        let p = h.process(id);
        assert_eq!(p.status(), ProcessStatus::Failed, "{p:?}");
        assert_eq!(p.status_reason, Some(StatusReason::Interrupted), "{p:?}");
        let mut want = kept.to_vec();
        want.push(note(3, closing));
        assert_eq!(h.texts(id), want, "{id}");
    }
    assert_eq!(h.status(elsewhere), ProcessStatus::Running);

    // The followed job goes on: numbering continues after the stored lines, and it ends with
    // its real outcome. The scheduler starts only now, as at a real start.
    h.spawn();
    assert_eq!(h.status(reattached), ProcessStatus::Running);
    assert_eq!(h.runner.running_count(), 1);
    h.wait_lines(reattached, 4).await;
    h.fake.release(reattached);
    let p = h.wait_done(reattached).await;
    assert_eq!(p.status(), ProcessStatus::Completed);
    assert_eq!(p.executor_job_id.as_deref(), Some("fake:3"));
    let mut want = kept.to_vec();
    want.extend([
        line(3, Stream::Stdout, "third"),
        line(4, Stream::Stderr, "fourth"),
    ]);
    assert_eq!(h.texts(reattached), want);
    // Nothing was started again.
    h.scheduler_rounds(1).await;
    assert!(h.fake.started_ids().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_followed_again_can_be_stopped() {
    let h = Harness::new(config());
    let id = h
        .repo
        .insert_running(new_process("job"), "local", Some("fake:9"), &["old"]);
    h.fake
        .on_recover("fake:9", Recovery::Reattach(Plan::new().out("new").hold()));
    assert!(h.runner.recover().await.unwrap().is_empty());
    h.wait_lines(id, 2).await;
    assert_eq!(
        h.runner.stop(id).await.unwrap(),
        process_runner::StopResult::Stopping
    );
    let p = h.wait_done(id).await;
    assert_eq!(p.status_reason, Some(StatusReason::Stopped));
    assert!(h.fake.saw_stop(id));
    assert_eq!(
        h.texts(id),
        [
            line(1, Stream::Stdout, "old"),
            line(2, Stream::Stdout, "new"),
            note(3, "stopped on request"),
        ]
    );
}

/// A crash after the end of a run registered its output files but before its final status:
/// recovery registers what is new and nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_registers_each_output_file_once() {
    use process_core::ProcessRepository;
    let h = Harness::new(config());
    let id = h
        .repo
        .insert_running(new_process("job"), "local", Some("fake:9"), &[]);
    h.fake.on_recover("fake:9", Recovery::Gone);
    let out = h.layout.output_dir(id);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("before-crash.txt"), b"a").unwrap();
    let at = time::OffsetDateTime::now_utc();
    let registered = process_datadir::collect_outputs(&h.layout, id, at).unwrap();
    h.repo.add_files(&registered).unwrap();
    std::fs::write(out.join("after.txt"), b"b").unwrap();

    h.runner.recover().await.unwrap();
    let mut names: Vec<String> = h.repo.files_of(id).into_iter().map(|f| f.name).collect();
    names.sort();
    assert_eq!(names, ["after.txt", "before-crash.txt"]);
    assert_eq!(h.status(id), ProcessStatus::Failed);
}
