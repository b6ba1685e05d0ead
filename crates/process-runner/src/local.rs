//! The local executor: the job runs as a child in its own process group, never through a
//! shell; stdout and stderr are read by the shared line pump; a timeout or stop sends SIGTERM
//! to the group, then SIGKILL after a grace period. Its job ids are `local:<pid>:<start
//! time>` (see `procinfo`), so a restarted node can tell its own leftovers from a reused pid.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use process_core::{ProcessId, Stream};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::error::SpawnError;
use crate::executor::{
    BoxFuture, Executor, Job, Lines, Outcome, Recovered, RunningJob, StopSignal,
};
use crate::procinfo;
use crate::pump::pump;

/// How long the pipes may stay open after the script and its group are gone.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct LocalExecutor {
    /// Time between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
}

impl Default for LocalExecutor {
    fn default() -> Self {
        Self {
            kill_grace: Duration::from_secs(5),
        }
    }
}

impl Executor for LocalExecutor {
    fn start(&self, job: Job, lines: Lines) -> BoxFuture<Result<Box<dyn RunningJob>, SpawnError>> {
        let started =
            spawn(job, lines, self.kill_grace).map(|r| Box::new(r) as Box<dyn RunningJob>);
        Box::pin(std::future::ready(started))
    }

    fn cancel(&self, job_id: &str) -> BoxFuture<()> {
        let group = procinfo::live_group(job_id);
        let grace = self.kill_grace;
        Box::pin(async move {
            if let Some(pgid) = group {
                signal_group(pgid, Signal::SIGTERM);
                tokio::time::sleep(grace).await;
                signal_group(pgid, Signal::SIGKILL);
            }
        })
    }

    fn recover(&self, _process: ProcessId, job_id: &str, _lines: Lines) -> BoxFuture<Recovered> {
        // A local run cannot be followed again: its pipes died with the previous processd.
        // Whatever of its group still runs is killed, so nothing goes on unobserved.
        let recovered = match procinfo::live_group(job_id) {
            Some(pgid) => {
                signal_group(pgid, Signal::SIGKILL);
                Recovered::Killed(format!("its process group {pgid} was killed"))
            }
            None => Recovered::Gone,
        };
        Box::pin(std::future::ready(recovered))
    }
}

/// A spawned child and the pumps reading its output.
struct LocalRun {
    child: Child,
    pid: i32,
    job_id: String,
    pumps: Vec<JoinHandle<()>>,
    timeout: Option<Duration>,
    grace: Duration,
}

fn spawn(job: Job, lines: Lines, grace: Duration) -> Result<LocalRun, SpawnError> {
    let Some((program, args)) = job.argv.split_first() else {
        return Err(SpawnError::EmptyCommand);
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(&job.env)
        .current_dir(&job.work_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| SpawnError::Spawn {
        program: program.clone(),
        source,
    })?;
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let mut pumps = Vec::with_capacity(2);
    if let Some(s) = child.stdout.take() {
        pumps.push(tokio::spawn(pump(s, Stream::Stdout, lines.clone())));
    }
    if let Some(s) = child.stderr.take() {
        pumps.push(tokio::spawn(pump(s, Stream::Stderr, lines)));
    }
    Ok(LocalRun {
        child,
        pid,
        job_id: procinfo::job_id(pid),
        pumps,
        timeout: job.timeout,
        grace,
    })
}

impl RunningJob for LocalRun {
    fn job_id(&self) -> &str {
        &self.job_id
    }

    fn wait(self: Box<Self>, stop: StopSignal) -> BoxFuture<Outcome> {
        Box::pin(self.wait_end(stop))
    }
}

enum End {
    Exited(std::process::ExitStatus),
    TimedOut,
    Stopped,
}

impl LocalRun {
    async fn wait_end(mut self, mut stop: StopSignal) -> Outcome {
        let timeout = self.timeout;
        let deadline = async {
            match timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        let stopped = async {
            // An error means the runner is gone; treat it like a stop request.
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        let end = tokio::select! {
            status = self.child.wait() => match status {
                Ok(s) => End::Exited(s),
                Err(e) => return Outcome::SpawnFailed(SpawnError::Lost(e)),
            },
            () = deadline => End::TimedOut,
            () = stopped => End::Stopped,
        };
        if !matches!(end, End::Exited(_)) {
            terminate(&mut self.child, self.pid, self.grace).await;
        }
        // Children the script left behind would keep the pipes open (and run unobserved):
        // the group goes with the script.
        signal_group(self.pid, Signal::SIGKILL);
        // A process that left the group (setsid) can still hold the pipes open: what it
        // writes after this grace is not captured, and the run ends anyway.
        for mut pump in self.pumps {
            if tokio::time::timeout(DRAIN_GRACE, &mut pump).await.is_err() {
                pump.abort();
            }
        }
        match end {
            End::TimedOut => Outcome::TimedOut,
            End::Stopped => Outcome::Stopped,
            End::Exited(status) => {
                use std::os::unix::process::ExitStatusExt;
                match (status.code(), status.signal()) {
                    (Some(code), _) => Outcome::Exited(code),
                    (None, Some(sig)) => Outcome::Signaled(sig),
                    (None, None) => Outcome::Exited(-1),
                }
            }
        }
    }
}

/// SIGTERM to the group, then SIGKILL if the script has not exited within `grace`.
async fn terminate(child: &mut Child, pid: i32, grace: Duration) {
    signal_group(pid, Signal::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        signal_group(pid, Signal::SIGKILL);
        let _ = child.wait().await;
    }
}

fn signal_group(pgid: i32, signal: Signal) {
    if pgid > 0 {
        // ESRCH (the group is already gone) is the normal case after an exit.
        let _ = killpg(Pid::from_raw(pgid), signal);
    }
}
