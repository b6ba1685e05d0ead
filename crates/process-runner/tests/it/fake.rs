//! A fake executor: each job follows a plan the test wrote (lines to write, files to leave,
//! points where it holds until the test releases it or the runner stops it, how it ends),
//! so races are decided by the test rather than by timing. It records what the runner asked.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use process_core::{ProcessId, Stream};
use process_runner::executor::{BoxFuture, StopSignal};
use process_runner::{Executor, Job, Lines, Outcome, RawLines, Recovered, RunningJob, SpawnError};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
enum Step {
    Line(Stream, String),
    /// Writes a file into the job's output directory.
    File(String, String),
    /// Waits for a release, or a stop.
    Hold,
}

/// How a job ends once its steps are done.
#[derive(Debug, Clone, Copy)]
pub enum End {
    Exit(i32),
    Signal(i32),
    TimedOut,
}

/// What a job does.
#[derive(Debug, Clone)]
pub struct Plan {
    steps: Vec<Step>,
    end: End,
    /// The job cannot start: `start` fails with this message.
    refuse: Option<String>,
}

impl Plan {
    pub fn new() -> Self {
        Self {
            steps: Vec::new(),
            end: End::Exit(0),
            refuse: None,
        }
    }

    /// A job that cannot be started.
    pub fn refused(why: &str) -> Self {
        Self {
            refuse: Some(why.to_owned()),
            ..Self::new()
        }
    }

    pub fn out(mut self, line: &str) -> Self {
        self.steps.push(Step::Line(Stream::Stdout, line.to_owned()));
        self
    }

    pub fn err(mut self, line: &str) -> Self {
        self.steps.push(Step::Line(Stream::Stderr, line.to_owned()));
        self
    }

    pub fn file(mut self, name: &str, content: &str) -> Self {
        self.steps
            .push(Step::File(name.to_owned(), content.to_owned()));
        self
    }

    pub fn hold(mut self) -> Self {
        self.steps.push(Step::Hold);
        self
    }

    pub fn ends(mut self, end: End) -> Self {
        self.end = end;
        self
    }

    pub fn exit(self, code: i32) -> Self {
        self.ends(End::Exit(code))
    }
}

/// What `recover` reports for a job id.
pub enum Recovery {
    Gone,
    Killed(String),
    /// Followed again; it goes on with this plan.
    Reattach(Plan),
}

/// A job the runner started.
#[derive(Debug, Clone)]
pub struct Started {
    pub job_id: String,
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub work_dir: PathBuf,
    pub at: OffsetDateTime,
}

#[derive(Default)]
struct State {
    plans: HashMap<ProcessId, Plan>,
    recoveries: HashMap<String, Recovery>,
    /// One per process, so a release may come before its job holds.
    gates: HashMap<ProcessId, Arc<Semaphore>>,
    jobs: u64,
    started: Vec<(ProcessId, Started)>,
    cancels: Vec<String>,
    recovers: Vec<(ProcessId, String)>,
    /// Jobs whose wait saw a stop request.
    saw_stop: Vec<ProcessId>,
    running: usize,
    most_running: usize,
}

impl State {
    fn gate(&mut self, id: ProcessId) -> Arc<Semaphore> {
        Arc::clone(
            self.gates
                .entry(id)
                .or_insert_with(|| Arc::new(Semaphore::new(0))),
        )
    }
}

pub struct FakeExecutor {
    /// The prefix of its job ids, which is also its name among the node's executors.
    name: String,
    state: Arc<Mutex<State>>,
}

impl FakeExecutor {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            state: Arc::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// What the job of process `id` will do.
    pub fn plan(&self, id: ProcessId, plan: Plan) {
        self.state().plans.insert(id, plan);
    }

    /// What `recover` will report for `job_id`.
    pub fn on_recover(&self, job_id: &str, recovery: Recovery) {
        self.state().recoveries.insert(job_id.to_owned(), recovery);
    }

    /// Lets the job of `id` past its next hold.
    pub fn release(&self, id: ProcessId) {
        self.state().gate(id).add_permits(1);
    }

    /// The processes whose jobs were started, in start order.
    pub fn started_ids(&self) -> Vec<ProcessId> {
        self.state().started.iter().map(|(id, _)| *id).collect()
    }

    pub fn started(&self, id: ProcessId) -> Option<Started> {
        let s = self.state();
        s.started
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, s)| s.clone())
    }

    pub fn recovers(&self) -> Vec<(ProcessId, String)> {
        self.state().recovers.clone()
    }

    pub fn cancels(&self) -> Vec<String> {
        self.state().cancels.clone()
    }

    pub fn saw_stop(&self, id: ProcessId) -> bool {
        self.state().saw_stop.contains(&id)
    }

    /// The most jobs that were running at once.
    pub fn most_running(&self) -> usize {
        self.state().most_running
    }

    fn job(&self, process: ProcessId, job_id: String, plan: Plan, lines: Lines) -> FakeJob {
        let mut s = self.state();
        s.running += 1;
        s.most_running = s.most_running.max(s.running);
        FakeJob {
            process,
            job_id,
            plan,
            lines,
            output_dir: None,
            gate: s.gate(process),
            state: Arc::clone(&self.state),
        }
    }
}

impl Executor for FakeExecutor {
    fn start(&self, job: Job, lines: Lines) -> BoxFuture<Result<Box<dyn RunningJob>, SpawnError>> {
        let id = job.process;
        let plan = self.state().plans.remove(&id);
        let Some(plan) = plan else {
            panic!("process {id} was started without a plan");
        };
        if let Some(why) = plan.refuse {
            let source = std::io::Error::new(std::io::ErrorKind::NotFound, why);
            let program = job.argv.first().cloned().unwrap_or_default();
            return Box::pin(std::future::ready(Err(SpawnError::Spawn {
                program,
                source,
            })));
        }
        let job_id = {
            let mut s = self.state();
            s.jobs += 1;
            let job_id = format!("{}:{}", self.name, s.jobs);
            s.started.push((
                id,
                Started {
                    job_id: job_id.clone(),
                    argv: job.argv.clone(),
                    env: job.env.clone(),
                    work_dir: job.work_dir.clone(),
                    at: OffsetDateTime::now_utc(),
                },
            ));
            job_id
        };
        let mut running = self.job(id, job_id, plan, lines);
        running.output_dir = job.env.get("PROCESS_OUTPUT_DIR").map(PathBuf::from);
        Box::pin(std::future::ready(Ok(
            Box::new(running) as Box<dyn RunningJob>
        )))
    }

    fn cancel(&self, job_id: &str) -> BoxFuture<()> {
        self.state().cancels.push(job_id.to_owned());
        Box::pin(std::future::ready(()))
    }

    fn recover(&self, process: ProcessId, job_id: &str, lines: Lines) -> BoxFuture<Recovered> {
        let recovery = {
            let mut s = self.state();
            s.recovers.push((process, job_id.to_owned()));
            s.recoveries.remove(job_id)
        };
        let recovered = match recovery {
            None | Some(Recovery::Gone) => Recovered::Gone,
            Some(Recovery::Killed(what)) => Recovered::Killed(what),
            Some(Recovery::Reattach(plan)) => {
                Recovered::Reattached(Box::new(self.job(process, job_id.to_owned(), plan, lines)))
            }
        };
        Box::pin(std::future::ready(recovered))
    }
}

struct FakeJob {
    process: ProcessId,
    job_id: String,
    plan: Plan,
    /// Dropped when the job ends, which ends the runner's capture.
    lines: Lines,
    output_dir: Option<PathBuf>,
    gate: Arc<Semaphore>,
    state: Arc<Mutex<State>>,
}

impl RunningJob for FakeJob {
    fn job_id(&self) -> &str {
        &self.job_id
    }

    fn wait(self: Box<Self>, stop: StopSignal) -> BoxFuture<Outcome> {
        Box::pin(self.run(stop))
    }
}

impl FakeJob {
    async fn run(self: Box<Self>, mut stop: StopSignal) -> Outcome {
        let outcome = self.steps(&mut stop).await;
        let mut s = self.state.lock().unwrap();
        s.running -= 1;
        if matches!(outcome, Outcome::Stopped) {
            s.saw_stop.push(self.process);
        }
        outcome
    }

    async fn steps(&self, stop: &mut StopSignal) -> Outcome {
        // A stop sent before the job was waited for counts, as it does for a real child.
        if *stop.borrow_and_update() {
            return Outcome::Stopped;
        }
        for step in &self.plan.steps {
            match step {
                Step::Line(stream, text) => {
                    let line = RawLines::one(*stream, text.as_bytes(), false);
                    self.lines.send(line).await.unwrap();
                }
                Step::File(name, content) => {
                    let dir = self.output_dir.as_ref().unwrap();
                    std::fs::create_dir_all(dir).unwrap();
                    std::fs::write(dir.join(name), content).unwrap();
                }
                Step::Hold => {
                    tokio::select! {
                        permit = self.gate.acquire() => permit.unwrap().forget(),
                        () = stopped(stop) => return Outcome::Stopped,
                    }
                }
            }
        }
        match self.plan.end {
            End::Exit(code) => Outcome::Exited(code),
            End::Signal(sig) => Outcome::Signaled(sig),
            End::TimedOut => Outcome::TimedOut,
        }
    }
}

/// Resolves once a stop is requested (or the runner dropped the signal, which a real
/// executor treats as a stop too).
async fn stopped(stop: &mut StopSignal) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}
