//! A real runner over the in-memory store and two fake executors (`fake`, the default, and
//! `other`), in a temporary data directory, with helpers to launch planned processes and
//! wait for what the runner records.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use process_core::{
    Catalog, DependencyType, NewProcess, NodeName, Process, ProcessId, ProcessStatus, Script,
    ScriptName, Stream,
};
use process_datadir::Layout;
use process_runner::{BaseEnv, Executors, Runner, RunnerConfig};
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use crate::fake::{FakeExecutor, Plan};
use crate::memory::Memory;

/// Long enough for a loaded machine; conditions are polled, so passing tests never wait it.
const PATIENCE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(2);

/// Polls `condition` until it holds; fails the test after a generous timeout.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

pub fn config() -> RunnerConfig {
    RunnerConfig {
        node: NodeName::new("local"),
        max_concurrent: 4,
        max_output_bytes: 1024 * 1024,
        // Only wakes and start times move the scheduler, so tests show that they do.
        poll_interval: Duration::from_secs(60),
        base_env: BaseEnv {
            path: "/usr/bin:/bin".to_owned(),
            lang: "C.UTF-8".to_owned(),
        },
    }
}

fn script(name: &str, executor: Option<&str>) -> Script {
    Script {
        name: ScriptName::parse(name).unwrap(),
        description: String::new(),
        command: vec![format!("/opt/scripts/{name}"), "--quiet".to_owned()],
        allowed: Vec::new(),
        max_clock_time: None,
        env: BTreeMap::from([("SCRIPT_MODE".to_owned(), "test".to_owned())]),
        parameters: Vec::new(),
        executor: executor.map(str::to_owned),
    }
}

pub struct Harness {
    pub repo: Arc<Memory>,
    /// The default executor.
    pub fake: Arc<FakeExecutor>,
    /// The executor of script `on-other`.
    pub other: Arc<FakeExecutor>,
    pub runner: Runner<Memory, Memory>,
    pub layout: Layout,
    scheduler: Option<JoinHandle<()>>,
    _dir: TempDir,
}

impl Harness {
    /// A runner whose scheduler is not started yet (to recover first).
    pub fn new(config: RunnerConfig) -> Self {
        let dir = TempDir::new().unwrap();
        let layout = Layout::new(dir.path().join("data"));
        layout.ensure().unwrap();
        let catalog = Catalog::new(vec![
            script("job", None),
            script("on-other", Some("other")),
            script("on-nowhere", Some("nowhere")),
        ])
        .unwrap();
        let repo = Arc::new(Memory::default());
        let fake = Arc::new(FakeExecutor::new("fake"));
        let other = Arc::new(FakeExecutor::new("other"));
        let executors =
            Executors::new("fake", Arc::clone(&fake) as _).with("other", Arc::clone(&other) as _);
        let runner = Runner::new(
            Arc::clone(&repo),
            Arc::clone(&repo),
            layout.clone(),
            Arc::new(catalog),
            executors,
            config,
        );
        Self {
            repo,
            fake,
            other,
            runner,
            layout,
            scheduler: None,
            _dir: dir,
        }
    }

    /// A runner with its scheduler going.
    pub fn running(config: RunnerConfig) -> Self {
        let mut h = Self::new(config);
        h.spawn();
        h
    }

    pub fn spawn(&mut self) {
        self.scheduler = Some(self.runner.spawn());
    }

    /// Launches a process of `script`, due now.
    pub fn launch(&self, script: &str, plan: Plan) -> ProcessId {
        self.launch_new(new_process(script), plan)
    }

    /// Stores a process whose job will follow `plan`, and wakes the scheduler as a launch
    /// does.
    pub fn launch_new(&self, new: NewProcess, plan: Plan) -> ProcessId {
        let id = self.repo.reserve_id();
        let executor = if new.script.as_str() == "on-other" {
            &self.other
        } else {
            &self.fake
        };
        executor.plan(id, plan);
        self.repo.insert(id, new);
        self.runner.wake();
        id
    }

    pub fn process(&self, id: ProcessId) -> Process {
        self.repo.process(id)
    }

    pub fn status(&self, id: ProcessId) -> ProcessStatus {
        self.repo.status(id)
    }

    pub fn texts(&self, id: ProcessId) -> Vec<(i64, Stream, String)> {
        self.repo.texts(id)
    }

    /// Waits for the end to be recorded, and for the runner to have let the process go.
    pub async fn wait_done(&self, id: ProcessId) -> Process {
        wait_until(&format!("process {id} ends"), || {
            self.status(id).is_terminal() && self.runner.follow(id).is_none()
        })
        .await;
        self.process(id)
    }

    pub async fn wait_started(&self, id: ProcessId) {
        wait_until(&format!("process {id} starts on its executor"), || {
            self.fake.started(id).is_some() || self.other.started(id).is_some()
        })
        .await;
    }

    pub async fn wait_lines(&self, id: ProcessId, n: usize) {
        wait_until(&format!("process {id} has {n} lines"), || {
            self.repo.lines(id).len() >= n
        })
        .await;
    }

    /// Lets the scheduler look for work `n` more times, so a test can show that something
    /// did not start rather than that it had not started yet.
    pub async fn scheduler_rounds(&self, n: u64) {
        for _ in 0..n {
            let seen = self.repo.rounds();
            self.runner.wake();
            wait_until("the scheduler looks again", || self.repo.rounds() > seen).await;
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // A claim left paused would block the runtime's shutdown.
        self.repo.resume_claims();
        if let Some(s) = &self.scheduler {
            s.abort();
        }
    }
}

pub fn new_process(script: &str) -> NewProcess {
    NewProcess {
        owner: None,
        script: ScriptName::parse(script).unwrap(),
        creation_time: OffsetDateTime::now_utc(),
        parameters: Vec::new(),
        not_before: None,
        depends_on: Vec::new(),
        dependency_type: DependencyType::AfterOk,
        access_hash: None,
    }
}

/// `(seq, stream, text)` of a line, for comparing with stored lines.
pub fn line(seq: i64, stream: Stream, text: &str) -> (i64, Stream, String) {
    (seq, stream, text.to_owned())
}

/// A line processd writes itself.
pub fn note(seq: i64, text: &str) -> (i64, Stream, String) {
    line(seq, Stream::Stderr, &format!("[processd: {text}]"))
}
