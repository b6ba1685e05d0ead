//! A cgroup v2 per run. Each run gets `<own cgroup>/processd-<tag>-<process id>`, where
//! `<own cgroup>` is the one processd runs in (so a subtree delegated to an unprivileged
//! service works as well as root) and `<tag>` is stable per data directory (so a restarted
//! processd finds the cgroups of its earlier life, and two instances never share one). The
//! child joins its cgroup before it execs the script (`contain`); writing `1` to
//! `cgroup.kill` then kills every process of the run, including those that left the process
//! group with `setsid`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use process_core::ProcessId;

/// How long a killed cgroup may take to empty before it is left behind.
const EMPTY_WAIT: Duration = Duration::from_secs(5);

/// Where the runs' cgroups are created.
#[derive(Debug, Clone)]
pub struct CgroupParent {
    dir: PathBuf,
    prefix: String,
}

impl CgroupParent {
    /// Finds the cgroup v2 hierarchy and checks that processd may create cgroups in its own
    /// cgroup and move processes into them. The error says what is missing.
    pub fn detect(tag: &str) -> Result<Self, String> {
        let mounts = fs::read_to_string("/proc/mounts")
            .map_err(|e| format!("cannot read /proc/mounts: {e}"))?;
        let mount = cgroup2_mount(&mounts).ok_or("no cgroup v2 filesystem is mounted")?;
        let own = fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let own = own_cgroup(&own).ok_or("processd's own cgroup v2 is unknown")?;
        let own = own.trim_start_matches('/');
        let dir = if own.is_empty() {
            mount
        } else {
            mount.join(own)
        };
        // Moving a process needs write access to `cgroup.procs` of the common ancestor of
        // where it is and where it goes: processd's own cgroup.
        OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))
            .map_err(|e| format!("cgroup v2 at {} is not writable: {e}", dir.display()))?;
        let parent = Self {
            dir,
            prefix: format!("processd-{tag}-"),
        };
        let probe = parent
            .dir
            .join(format!("{}probe-{}", parent.prefix, std::process::id()));
        let tried = probe_cgroup(&probe);
        let _ = fs::remove_dir(&probe);
        tried.map_err(|e| format!("cannot create cgroups in {}: {e}", parent.dir.display()))?;
        Ok(parent)
    }

    /// The directory the runs' cgroups are created in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cgroup of a run.
    pub fn run(&self, process: ProcessId) -> RunCgroup {
        RunCgroup {
            path: self.dir.join(format!("{}{}", self.prefix, process)),
        }
    }
}

/// A cgroup must be creatable, killable and joinable.
fn probe_cgroup(probe: &Path) -> io::Result<()> {
    fs::create_dir(probe)?;
    if !probe.join("cgroup.kill").exists() {
        return Err(io::Error::other(
            "the kernel has no cgroup.kill (Linux 5.14+)",
        ));
    }
    OpenOptions::new()
        .write(true)
        .open(probe.join("cgroup.procs"))?;
    Ok(())
}

/// The cgroup of one run.
#[derive(Debug, Clone)]
pub struct RunCgroup {
    path: PathBuf,
}

impl RunCgroup {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the cgroup (one left by an earlier life is killed and reused) and opens its
    /// `cgroup.procs`, which the child writes itself into before exec.
    pub fn create(&self) -> io::Result<File> {
        match fs::create_dir(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let _ = self.kill();
            }
            Err(e) => return Err(e),
        }
        OpenOptions::new()
            .write(true)
            .open(self.path.join("cgroup.procs"))
    }

    /// Whether the cgroup exists.
    pub fn exists(&self) -> bool {
        self.path.is_dir()
    }

    /// Whether any process is in the cgroup.
    pub fn populated(&self) -> bool {
        fs::read_to_string(self.path.join("cgroup.events"))
            .map(|events| events.lines().any(|l| l.trim() == "populated 1"))
            .unwrap_or(false)
    }

    /// SIGKILL to every process in the cgroup.
    pub fn kill(&self) -> io::Result<()> {
        OpenOptions::new()
            .write(true)
            .open(self.path.join("cgroup.kill"))?
            .write_all(b"1")
    }

    /// Kills what is left in the cgroup, waits until it is empty and removes it. Failures are
    /// logged: the run is over either way.
    pub async fn kill_and_remove(&self) {
        if !self.exists() {
            return;
        }
        if let Err(e) = self.kill() {
            tracing::warn!(cgroup = %self.path.display(), error = %e, "cgroup.kill failed");
        }
        let deadline = tokio::time::Instant::now() + EMPTY_WAIT;
        while self.populated() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if let Err(e) = fs::remove_dir(&self.path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(cgroup = %self.path.display(), error = %e, "could not remove a run's cgroup");
            }
        }
    }
}

/// The mount point of the cgroup v2 hierarchy in `/proc/mounts` text.
fn cgroup2_mount(mounts: &str) -> Option<PathBuf> {
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_, dir, fstype) = (fields.next()?, fields.next()?, fields.next()?);
        (fstype == "cgroup2").then(|| PathBuf::from(unescape_mount(dir)))
    })
}

/// `/proc/mounts` writes space, tab, newline and backslash as octal escapes.
fn unescape_mount(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The cgroup v2 path of this process in `/proc/self/cgroup` text (the `0::` line).
fn own_cgroup(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hierarchy_and_own_cgroup_are_found() {
        let mounts = "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n\
                      cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n\
                      cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n";
        assert_eq!(
            cgroup2_mount(mounts),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            cgroup2_mount("cgroup2 /a\\040b cgroup2 rw 0 0"),
            Some("/a b".into())
        );
        assert_eq!(cgroup2_mount("cgroup /x cgroup rw 0 0"), None);
        assert_eq!(
            own_cgroup("4:memory:/x\n0::/system.slice/processd.service\n").as_deref(),
            Some("/system.slice/processd.service")
        );
        assert_eq!(own_cgroup("1:cpu:/\n"), None);
    }

    /// Detection on the running kernel: either a usable parent, or a reason.
    #[test]
    fn detection_gives_a_parent_or_a_reason() {
        match CgroupParent::detect("unit-test") {
            Ok(parent) => {
                let run = parent.run(ProcessId::new(1).unwrap());
                assert!(run.path().starts_with(parent.dir()));
                assert!(run.path().ends_with("processd-unit-test-1"));
            }
            Err(reason) => assert!(!reason.is_empty()),
        }
    }
}
