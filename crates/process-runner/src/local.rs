//! The local executor: the job runs as a child in its own process group, never through a
//! shell; stdout and stderr are read line by line by one pump function; a timeout or stop
//! sends SIGTERM to the group, then SIGKILL after a grace period.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use process_core::output::MAX_LINE_BYTES;
use process_core::Stream;
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::executor::{BoxFuture, Event, Events, Executor, Job, Outcome, StopSignal};
use crate::procinfo;

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
    fn run(&self, job: Job, events: Events, stop: StopSignal) -> BoxFuture<Outcome> {
        Box::pin(run_local(job, events, stop, self.kill_grace))
    }
}

enum End {
    Exited(std::process::ExitStatus),
    TimedOut,
    Stopped,
}

async fn run_local(job: Job, events: Events, mut stop: StopSignal, grace: Duration) -> Outcome {
    let Some((program, args)) = job.argv.split_first() else {
        return Outcome::SpawnFailed("the script's command is empty".to_owned());
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
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Outcome::SpawnFailed(format!("cannot start {program}: {e}")),
    };
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let _ = events.send(Event::JobId(procinfo::job_id(pid))).await;

    let pumps = [
        child
            .stdout
            .take()
            .map(|s| tokio::spawn(pump(s, Stream::Stdout, events.clone()))),
        child
            .stderr
            .take()
            .map(|s| tokio::spawn(pump(s, Stream::Stderr, events.clone()))),
    ];

    let deadline = async {
        match job.timeout {
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
        status = child.wait() => match status {
            Ok(s) => End::Exited(s),
            Err(e) => return Outcome::SpawnFailed(format!("lost the child: {e}")),
        },
        () = deadline => End::TimedOut,
        () = stopped => End::Stopped,
    };
    let end = match end {
        End::Exited(s) => End::Exited(s),
        other => {
            terminate(&mut child, pid, grace).await;
            other
        }
    };
    // Children the script left behind would keep the pipes open (and run unobserved): the
    // group goes with the script.
    signal_group(pid, Signal::SIGKILL);
    // A process that left the group (setsid) can still hold the pipes open: what it writes
    // after this grace is not captured, and the run ends anyway.
    for mut pump in pumps.into_iter().flatten() {
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

/// Bytes read from a script's stdout or stderr at a time.
const PUMP_BUFFER: usize = 8 * 1024;

/// Reads one stream line by line into the event channel, cutting lines longer than
/// MAX_LINE_BYTES (the rest of such a line is dropped) so memory stays bounded.
async fn pump(stream: impl AsyncRead + Unpin, kind: Stream, events: Events) {
    // The buffer is allocated zeroed, so it is resident for as long as the script runs: two
    // per process. 8 KiB keeps 1,000 running processes near 16 MiB (64 KiB cost 128 MiB, see
    // docs/benchmarks.md, memory) and still reads many 80-byte lines per syscall.
    let mut reader = BufReader::with_capacity(PUMP_BUFFER, stream);
    let mut line: Vec<u8> = Vec::new();
    let mut cut = false;
    // A read error ends the stream like EOF: the script's exit status tells the rest.
    while let Ok(chunk) = reader.fill_buf().await {
        if chunk.is_empty() {
            break;
        }
        let (take, complete) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        let data = &chunk[..take - usize::from(complete)];
        if data.len() > room {
            cut = true;
        }
        line.extend_from_slice(&data[..data.len().min(room)]);
        reader.consume(take);
        if complete && !send(&events, kind, &mut line, &mut cut).await {
            return;
        }
    }
    if !line.is_empty() || cut {
        send(&events, kind, &mut line, &mut cut).await;
    }
}

async fn send(events: &Events, stream: Stream, line: &mut Vec<u8>, cut: &mut bool) -> bool {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let event = Event::Line {
        stream,
        bytes: std::mem::take(line),
        time: OffsetDateTime::now_utc(),
        cut: std::mem::take(cut),
    };
    events.send(event).await.is_ok()
}
