//! The end of a run: how each outcome is recorded, and that recording it survives a store
//! that fails for a while without writing anything twice.

use process_core::{ProcessStatus, StatusReason, Stream};

use crate::fake::{End, Plan};
use crate::harness::{config, line, note, Harness};
use crate::memory::Op;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outcome_is_recorded_with_its_reason() {
    let h = Harness::running(config());
    let cases = [
        (End::Exit(0), ProcessStatus::Completed, None, Some(0), None),
        (
            End::Exit(3),
            ProcessStatus::Failed,
            Some(StatusReason::Exit),
            Some(3),
            Some("exited with code 3"),
        ),
        (
            End::Signal(9),
            ProcessStatus::Failed,
            Some(StatusReason::Signal),
            None,
            Some("killed by signal 9"),
        ),
        (
            End::TimedOut,
            ProcessStatus::Failed,
            Some(StatusReason::Timeout),
            None,
            Some("timed out (max_clock_time); its process group was terminated"),
        ),
    ];
    let ids: Vec<_> = cases
        .iter()
        .map(|(end, ..)| h.launch("job", Plan::new().out("working").ends(*end)))
        .collect();
    for (id, (end, status, reason, exit_code, closing)) in ids.into_iter().zip(cases) {
        let p = h.wait_done(id).await;
        assert_eq!(p.status(), status, "{end:?}");
        assert_eq!(p.status_reason, reason, "{end:?}");
        assert_eq!(p.exit_code, exit_code, "{end:?}");
        assert!(p.start_time.unwrap() <= p.end_time.unwrap());
        let mut want = vec![line(1, Stream::Stdout, "working")];
        want.extend(closing.map(|c| note(2, c)));
        assert_eq!(h.texts(id), want, "{end:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_end_transition_is_retried_until_recorded() {
    let h = Harness::running(config());
    let id = h.launch(
        "job",
        Plan::new().out("one").file("report.txt", "done").hold(),
    );
    h.wait_lines(id, 1).await;
    h.repo.fail_next(Op::Transition, 3);
    h.fake.release(id);
    let p = h.wait_done(id).await;
    assert_eq!(h.repo.failures_left(Op::Transition), 0);
    assert_eq!(p.status(), ProcessStatus::Completed);
    assert_eq!(p.exit_code, Some(0));
    assert_eq!(p.percent_complete, Some(100));
    assert_eq!(h.texts(id), [line(1, Stream::Stdout, "one")]);
    let files = h.repo.files_of(id);
    let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["report.txt"]);
    assert_eq!(files[0].size_bytes, 4);
}

/// Each step of the end fails once in turn: the closing line and the files are written
/// once each, and the process still ends FAILED with its exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_of_the_end_is_done_once_across_retries() {
    let h = Harness::running(config());
    let id = h.launch(
        "job",
        Plan::new()
            .out("one")
            .err("two")
            .file("a.txt", "a")
            .hold()
            .exit(3),
    );
    h.wait_lines(id, 2).await;
    h.repo.fail_next(Op::AppendOutput, 1);
    h.repo.fail_next(Op::AddFiles, 1);
    h.repo.fail_next(Op::Transition, 1);
    h.fake.release(id);
    let p = h.wait_done(id).await;
    for op in [Op::AppendOutput, Op::AddFiles, Op::Transition] {
        assert_eq!(h.repo.failures_left(op), 0, "{op:?}");
    }
    assert_eq!(p.status(), ProcessStatus::Failed);
    assert_eq!(p.status_reason, Some(StatusReason::Exit));
    assert_eq!(p.exit_code, Some(3));
    assert_eq!(
        h.texts(id),
        [
            line(1, Stream::Stdout, "one"),
            line(2, Stream::Stderr, "two"),
            note(3, "exited with code 3"),
        ]
    );
    let names: Vec<_> = h
        .repo
        .files_of(id)
        .into_iter()
        .map(|f| (f.name, f.filetype))
        .collect();
    assert_eq!(names, [("a.txt".to_owned(), "outputFile".to_owned())]);
}
