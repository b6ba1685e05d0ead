//! What the runner hands an executor, and which executor a script runs on.

use process_core::{NewProcess, Param, ProcessStatus, StatusReason};

use crate::fake::Plan;
use crate::harness::{config, new_process, note, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_gets_its_argv_environment_and_directory() {
    let h = Harness::running(config());
    let id = h.launch_new(
        NewProcess {
            parameters: vec![Param {
                name: "-n".to_owned(),
                value: "3".to_owned(),
            }],
            ..new_process("job")
        },
        Plan::new(),
    );
    let p = h.wait_done(id).await;
    assert_eq!(p.status(), ProcessStatus::Completed);
    let job = h.fake.started(id).unwrap();
    assert_eq!(job.job_id, "fake:1");
    assert_eq!(p.executor_job_id.as_deref(), Some("fake:1"));
    assert_eq!(job.argv, ["/opt/scripts/job", "--quiet", "-n", "3"]);
    assert_eq!(job.work_dir, h.layout.work_dir(id));
    assert!(job.work_dir.is_dir());
    let run = h.layout.run_dir(id);
    let env: Vec<(&str, String)> = job
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    assert_eq!(
        env,
        [
            ("HOME", job.work_dir.display().to_string()),
            ("LANG", "C.UTF-8".to_owned()),
            ("PATH", "/usr/bin:/bin".to_owned()),
            ("PROCESS_ID", id.to_string()),
            (
                "PROCESS_OUTPUT_DIR",
                h.layout.output_dir(id).display().to_string()
            ),
            ("SCRIPT_MODE", "test".to_owned()),
            ("TMPDIR", run.join("tmp").display().to_string()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_runs_on_the_executor_it_names() {
    let h = Harness::running(config());
    let on_other = h.launch("on-other", Plan::new().out("elsewhere"));
    let on_default = h.launch("job", Plan::new());
    let p = h.wait_done(on_other).await;
    assert_eq!(p.status(), ProcessStatus::Completed);
    assert_eq!(p.executor_job_id.as_deref(), Some("other:1"));
    assert_eq!(h.other.started_ids(), [on_other]);
    assert_eq!(
        h.wait_done(on_default).await.executor_job_id.as_deref(),
        Some("fake:1")
    );
    assert_eq!(h.fake.started_ids(), [on_default]);
    // The runner stops jobs through their stop signal, never by id.
    assert!(h.fake.cancels().is_empty() && h.other.cancels().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_naming_an_unknown_executor_fails_as_spawn() {
    let h = Harness::running(config());
    let id = h.launch("on-nowhere", Plan::new());
    let p = h.wait_done(id).await;
    assert_eq!(p.status(), ProcessStatus::Failed);
    assert_eq!(p.status_reason, Some(StatusReason::Spawn));
    assert_eq!(
        h.texts(id),
        [note(1, "no executor named \"nowhere\" is configured")]
    );
    assert!(h.fake.started_ids().is_empty() && h.other.started_ids().is_empty());
}
