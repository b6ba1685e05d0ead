//! The local executor: the job runs as a child in its own process group, never through a
//! shell; stdout and stderr are read by the shared line pump; a timeout or stop sends SIGTERM
//! to the group, then SIGKILL after a grace period. Where the kernel allows (`confine`), the
//! child also runs in a cgroup of its own, killed whole at the end of the run (so children
//! that left the group die too), and under a Landlock ruleset. Its job ids are
//! `local:<pid>:<start time>:<boot id>` (see `procinfo`), so a restarted node can tell its own
//! leftovers from a reused pid; a run's cgroup is named after its process id.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use process_core::{ProcessId, Stream};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::cgroup::RunCgroup;
use crate::confine::Containment;
use crate::contain::ChildSetup;
use crate::error::SpawnError;
use crate::executor::{
    BoxFuture, Executor, Job, Lines, Outcome, Recovered, RunningJob, StopSignal,
};
use crate::launcher::Spec;
use crate::procinfo;
use crate::pump::pump;

/// How long the pipes may stay open after the script and its group are gone.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct LocalExecutor {
    /// Time between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    /// The cgroups and confinement runs get.
    pub containment: Arc<Containment>,
}

impl Default for LocalExecutor {
    fn default() -> Self {
        Self {
            kill_grace: Duration::from_secs(5),
            containment: Arc::new(Containment::none()),
        }
    }
}

impl Executor for LocalExecutor {
    fn start(&self, job: Job, lines: Lines) -> BoxFuture<Result<Box<dyn RunningJob>, SpawnError>> {
        let started = spawn(job, lines, self.kill_grace, &self.containment)
            .map(|r| Box::new(r) as Box<dyn RunningJob>);
        Box::pin(std::future::ready(started))
    }

    fn cancel(&self, job_id: &str) -> BoxFuture<()> {
        // Runs of this node are stopped through their stop signal, which also kills their
        // cgroup; this serves a job known only by its id.
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

    fn recover(&self, process: ProcessId, job_id: &str, _lines: Lines) -> BoxFuture<Recovered> {
        // A local run cannot be followed again: its pipes died with the previous processd.
        // Whatever of it still runs is killed, so nothing goes on unobserved: its process
        // group, and its cgroup with everything that left the group.
        let group = procinfo::live_group(job_id);
        let cgroup = self
            .containment
            .cgroups()
            .map(|parent| parent.run(process))
            .filter(RunCgroup::exists);
        Box::pin(async move {
            let mut killed = Vec::new();
            if let Some(pgid) = group {
                signal_group(pgid, Signal::SIGKILL);
                killed.push(format!("its process group {pgid}"));
            }
            if let Some(cgroup) = cgroup {
                if cgroup.populated() {
                    killed.push(format!("its cgroup {}", cgroup.path().display()));
                }
                cgroup.kill_and_remove().await;
            }
            if killed.is_empty() {
                Recovered::Gone
            } else {
                Recovered::Killed(format!("killed {}", killed.join(" and ")))
            }
        })
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
    cgroup: Option<RunCgroup>,
}

fn spawn(
    job: Job,
    lines: Lines,
    grace: Duration,
    containment: &Containment,
) -> Result<LocalRun, SpawnError> {
    let Some((program, args)) = job.argv.split_first() else {
        return Err(SpawnError::EmptyCommand);
    };
    let cgroup = containment.cgroups().map(|parent| parent.run(job.process));
    let launcher = containment
        .launcher()
        .filter(|_| cgroup.is_some() || containment.confines())
        .filter(|_| !steers_the_loader(&job));
    let mut cmd = match launcher {
        // Not forked from processd: the launcher confines itself, then execs the program.
        Some(launcher) => {
            // What the forked child would have failed to exec fails the spawn here too.
            locate(program, &job).map_err(|source| SpawnError::Spawn {
                program: program.clone(),
                source,
            })?;
            let mut cmd = Command::new(launcher);
            cmd.args(launch_spec(&job, cgroup.as_ref(), containment).args(&job.argv));
            cmd
        }
        None => {
            let mut cmd = Command::new(program);
            cmd.args(args);
            cmd
        }
    };
    cmd.env_clear()
        .envs(&job.env)
        .current_dir(&job.work_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // A cgroup created for a run that does not start is removed (it is empty).
    let discard = |cgroup: &Option<RunCgroup>| {
        if let Some(cgroup) = cgroup {
            let _ = std::fs::remove_dir(cgroup.path());
        }
    };
    let setup = match launcher {
        Some(_) => prepare_launch(&job, cgroup.as_ref(), containment),
        None => child_setup(&job, cgroup.as_ref(), containment).map(|s| s.install(&mut cmd)),
    };
    if let Err(e) = setup {
        discard(&cgroup);
        return Err(e);
    }
    let spawned = cmd.spawn();
    // The parent's copies of the cgroup and ruleset descriptors go with the command.
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(source) => {
            discard(&cgroup);
            return Err(SpawnError::Spawn {
                program: program.clone(),
                source,
            });
        }
    };
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
        cgroup,
    })
}

/// What the parent prepares for a launcher: the run's cgroup created, its directories handed
/// to the `run_as` user.
fn prepare_launch(
    job: &Job,
    cgroup: Option<&RunCgroup>,
    containment: &Containment,
) -> Result<(), SpawnError> {
    if let Some(c) = cgroup {
        c.create()
            .map_err(|e| SpawnError::Contain(format!("cgroup {}: {e}", c.path().display())))?;
    }
    containment
        .hand_over(job)
        .map_err(|e| SpawnError::Contain(format!("run_as: {e}")))
}

/// What the launcher of `job` does before it execs the script.
fn launch_spec(job: &Job, cgroup: Option<&RunCgroup>, containment: &Containment) -> Spec {
    Spec {
        cgroup_procs: cgroup.map(|c| c.path().join("cgroup.procs")),
        run_as: containment.run_as(),
        landlock: containment.rules(job),
    }
}

/// Whether the job's environment (the operator's `env` of the script) steers the dynamic
/// loader. The launcher starts with the job's environment and, under `run_as`, as the
/// service's user: such a run is forked instead, so that only the script itself, after it
/// dropped privileges, is affected, as before the launcher.
fn steers_the_loader(job: &Job) -> bool {
    job.env
        .keys()
        .any(|k| k.starts_with("LD_") || k == "GLIBC_TUNABLES")
}

/// The file `program` names, found as exec would: a path as it is, a bare name on the job's
/// `PATH`. An error is the one exec would fail with.
fn locate(program: &str, job: &Job) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        let meta = std::fs::metadata(p)?;
        if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
            Ok(p.to_owned())
        } else {
            Err(std::io::Error::from(nix::errno::Errno::EACCES))
        }
    };
    if program.contains('/') {
        return executable(&job.work_dir.join(program));
    }
    let path = job.env.get("PATH").map_or("/usr/bin:/bin", String::as_str);
    std::env::split_paths(path)
        .find_map(|dir| executable(&dir.join(program)).ok())
        .ok_or_else(|| std::io::Error::from(nix::errno::Errno::ENOENT))
}

/// Everything the child does before exec, prepared here: the run's cgroup created and its
/// `cgroup.procs` opened, its directories handed to the `run_as` user, its ruleset built.
fn child_setup(
    job: &Job,
    cgroup: Option<&RunCgroup>,
    containment: &Containment,
) -> Result<ChildSetup, SpawnError> {
    let cgroup_procs = cgroup
        .map(|c| {
            c.create()
                .map_err(|e| SpawnError::Contain(format!("cgroup {}: {e}", c.path().display())))
        })
        .transpose()?;
    containment
        .hand_over(job)
        .map_err(|e| SpawnError::Contain(format!("run_as: {e}")))?;
    let ruleset = containment
        .ruleset(job)
        .map_err(|e| SpawnError::Contain(format!("landlock: {e}")))?;
    Ok(ChildSetup {
        cgroup_procs,
        run_as: containment.run_as(),
        ruleset,
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
            terminate(&mut self.child, self.pid, self.grace, self.cgroup.as_ref()).await;
        }
        // Children the script left behind would keep the pipes open (and run unobserved):
        // the group goes with the script, and so does everything in its cgroup, including
        // processes that left the group (setsid).
        signal_group(self.pid, Signal::SIGKILL);
        kill_cgroup(self.cgroup.as_ref());
        // Without a cgroup, a process that left the group can still hold the pipes open:
        // what it writes after this grace is not captured, and the run ends anyway.
        for mut pump in self.pumps {
            if tokio::time::timeout(DRAIN_GRACE, &mut pump).await.is_err() {
                pump.abort();
            }
        }
        if let Some(cgroup) = &self.cgroup {
            cgroup.kill_and_remove().await;
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

/// SIGTERM to the group, then SIGKILL (to the group and the cgroup) if the script has not
/// exited within `grace`.
async fn terminate(child: &mut Child, pid: i32, grace: Duration, cgroup: Option<&RunCgroup>) {
    signal_group(pid, Signal::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        signal_group(pid, Signal::SIGKILL);
        kill_cgroup(cgroup);
        let _ = child.wait().await;
    }
}

fn kill_cgroup(cgroup: Option<&RunCgroup>) {
    if let Some(cgroup) = cgroup {
        if let Err(e) = cgroup.kill() {
            tracing::warn!(cgroup = %cgroup.path().display(), error = %e, "cgroup.kill failed");
        }
    }
}

fn signal_group(pgid: i32, signal: Signal) {
    if pgid > 0 {
        // ESRCH (the group is already gone) is the normal case after an exit.
        let _ = killpg(Pid::from_raw(pgid), signal);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use tokio::sync::{mpsc, watch};

    use super::*;
    use crate::confine::{detect_cgroups, detect_landlock, ContainConfig};

    fn alive(pid: i32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rfind(')')
            .is_some_and(|i| !stat[i + 1..].trim_start().starts_with('Z'))
    }

    /// What a launcher could not exec fails the spawn in processd, with exec's own error.
    #[test]
    fn programs_are_located_as_exec_would() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().to_owned();
        std::fs::write(work.join("plain.txt"), "not a program").unwrap();
        let job = |path: &str| Job {
            process: ProcessId::new(1).unwrap(),
            argv: Vec::new(),
            env: BTreeMap::from([("PATH".to_owned(), path.to_owned())]),
            work_dir: work.clone(),
            writable: Vec::new(),
            readable: Vec::new(),
            timeout: None,
        };
        let j = job("/nonexistent:/bin:/usr/bin");
        assert!(locate("true", &j).unwrap().ends_with("true"));
        assert_eq!(locate("/bin/true", &j).unwrap(), PathBuf::from("/bin/true"));
        let missing = locate("/nonexistent/prog", &j).unwrap_err().to_string();
        assert!(missing.contains("No such file"), "{missing}");
        let unknown = locate("no-such-program-here", &j).unwrap_err().to_string();
        assert!(unknown.contains("No such file"), "{unknown}");
        let plain = locate("./plain.txt", &j).unwrap_err().to_string();
        assert!(plain.contains("Permission denied"), "{plain}");
        assert!(locate("true", &job("/nonexistent")).is_err());
    }

    /// A job in a contained run: its child that left the process group dies with the run,
    /// and it reaches its own directory but not a file beside it.
    #[tokio::test]
    async fn a_contained_run_kills_its_setsid_children_and_stays_in_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let work = data.join("runs/1/work");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(data.join("secret"), "SECRET").unwrap();
        if let Err(why) = detect_cgroups(&data).and(detect_landlock().map(|_| ())) {
            eprintln!("skipped: the kernel cannot contain runs here: {why}");
            return;
        }
        let layout = process_datadir::Layout::new(&data);
        let containment =
            Containment::setup(&ContainConfig::default(), &layout, None, &[]).unwrap();
        let executor = LocalExecutor {
            kill_grace: Duration::from_secs(1),
            containment: Arc::new(containment),
        };
        let script = format!(
            "setsid sleep 60 & echo child=$!; cat {secret}; echo mine > mine.txt && cat mine.txt",
            secret = data.join("secret").display()
        );
        let job = Job {
            process: ProcessId::new(1).unwrap(),
            argv: vec!["/bin/sh".into(), "-c".into(), script],
            env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
            work_dir: work.clone(),
            writable: vec![work.clone()],
            readable: Vec::<PathBuf>::new(),
            timeout: None,
        };
        let (tx, mut rx) = mpsc::channel(64);
        let running = executor.start(job, tx).await.unwrap();
        let (_stop_tx, stop) = watch::channel(false);
        let outcome = running.wait(stop).await;
        let mut out = String::new();
        while let Ok(read) = rx.try_recv() {
            for (line, _) in read.iter() {
                out.push_str(&String::from_utf8_lossy(line));
                out.push('\n');
            }
        }
        assert!(matches!(outcome, Outcome::Exited(0)), "{outcome:?}: {out}");
        let child: i32 = out
            .lines()
            .find_map(|l| l.strip_prefix("child="))
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        assert!(!alive(child), "the setsid child {child} outlived the run");
        assert!(out.contains("Permission denied"), "{out}");
        assert!(!out.contains("SECRET"), "{out}");
        assert!(out.contains("mine"), "{out}");
        let cgroup = executor
            .containment
            .cgroups()
            .unwrap()
            .run(ProcessId::new(1).unwrap());
        assert!(!cgroup.exists(), "the run's cgroup is removed");
    }

    /// Restart recovery kills what is left in a run's cgroup, including processes that left
    /// the process group, though their leader is gone.
    #[tokio::test]
    async fn recovery_kills_what_is_left_in_the_cgroup() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let work = data.join("runs/2/work");
        std::fs::create_dir_all(&work).unwrap();
        if let Err(why) = detect_cgroups(&data) {
            eprintln!("skipped: no cgroup v2 for runs here: {why}");
            return;
        }
        let layout = process_datadir::Layout::new(&data);
        let config = ContainConfig {
            mode: crate::ConfineMode::Auto,
            ..ContainConfig::default()
        };
        let executor = LocalExecutor {
            kill_grace: Duration::from_secs(1),
            containment: Arc::new(Containment::setup(&config, &layout, None, &[]).unwrap()),
        };
        let process = ProcessId::new(2).unwrap();
        let job = Job {
            process,
            argv: vec![
                "/bin/sh".into(),
                "-c".into(),
                "setsid sleep 60 > /dev/null 2>&1 & echo child=$!".into(),
            ],
            env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
            work_dir: work.clone(),
            writable: vec![work],
            readable: Vec::new(),
            timeout: None,
        };
        let (tx, mut rx) = mpsc::channel(64);
        let running = executor.start(job, tx).await.unwrap();
        let job_id = running.job_id().to_owned();
        let read = rx.recv().await.unwrap();
        let first = read.iter().next().unwrap().0;
        let child: i32 = String::from_utf8_lossy(first)
            .strip_prefix("child=")
            .and_then(|c| c.parse().ok())
            .unwrap();
        // As if processd died here: the run is never waited for (dropping it kills nothing).
        drop(running);
        assert!(alive(child));
        let (tx, _rx) = mpsc::channel(1);
        let recovered = executor.recover(process, &job_id, tx).await;
        let Recovered::Killed(what) = recovered else {
            panic!("nothing was killed");
        };
        assert!(what.contains("cgroup"), "{what}");
        assert!(!alive(child), "the setsid child {child} survived recovery");
        let cgroup = executor.containment.cgroups().unwrap().run(process);
        assert!(!cgroup.exists());
    }
}
