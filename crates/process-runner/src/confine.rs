//! What runs are contained with, decided once at start from the configuration and from what
//! the kernel offers, and reported in one log line:
//!
//! - a **cgroup v2 per run** (`cgroup`), so stop, timeout, the end of a run and restart
//!   recovery kill every process of the run, not just its process group;
//! - a **Landlock ruleset per run**, so the script reads and writes its own run directory
//!   (working, output and temporary directories, which hold its input copies), reads and
//!   executes the system and the directories of the configured script commands, and reaches
//!   nothing else: not the data directory (other runs, stored files, uploads, the SQLite
//!   database), not processd's secrets. It may also not signal processes outside its domain.
//!
//! Without them a run falls back to what processd did before: its process group is killed,
//! and the script sees whatever the service user sees.
//!
//! Independently, `run_as` makes scripts run as another (unprivileged) user when processd
//! runs as root: the child drops to it before exec, and its run directories are its own.

use std::fs;
use std::io;
use std::os::unix::fs::{chown, lchown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use landlock::{
    path_beneath_rules, Access, AccessFs, LandlockStatus, Ruleset, RulesetAttr, RulesetCreated,
    RulesetCreatedAttr, RulesetError, RulesetStatus, Scope, ABI,
};
use nix::unistd::{geteuid, Gid, Uid, User};
use process_datadir::{Checksum, Layout};

use crate::cgroup::CgroupParent;
use crate::executor::Job;

/// The Landlock ABI whose access rights processd handles: the newest it was tested with.
/// Older kernels get what they support (the crate's best-effort mode); rights of newer ABIs
/// stay unhandled until tested, so they cannot break scripts.
const TARGET_ABI: ABI = ABI::V6;

/// Read and execute for every script: the system's programs, libraries and configuration.
pub const SYSTEM_READ_PATHS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc", "/sys",
];

/// Devices every script may read and write. Not all of `/dev`: as root, a disk device would
/// give the data directory back.
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/pts",
    "/dev/shm",
];

/// `confine_scripts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfineMode {
    /// Apply what the kernel supports and say what is missing.
    #[default]
    Auto,
    /// Refuse to start without cgroup v2 and Landlock.
    Required,
    /// No containment beyond the process group.
    Off,
}

impl FromStr for ConfineMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "required" => Ok(Self::Required),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "confine_scripts must be auto, required or off, not {other:?}"
            )),
        }
    }
}

/// The operator's containment settings.
#[derive(Debug, Clone, Default)]
pub struct ContainConfig {
    pub mode: ConfineMode,
    /// Extra paths every script may read (and execute).
    pub read_paths: Vec<PathBuf>,
    /// Extra paths every script may read and write.
    pub write_paths: Vec<PathBuf>,
    /// The user scripts run as when processd runs as root.
    pub run_as: Option<String>,
    /// The processd executable, started as the confining launcher of runs (`launcher`);
    /// without it (an embedder), a run's child confines itself between fork and exec.
    pub launcher: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContainError {
    #[error("confine_scripts = \"required\", but {0}")]
    Required(String),
    #[error("run_as: {0}")]
    RunAs(String),
}

/// The user a script runs as: set in the child before exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: Uid,
    pub gid: Gid,
}

/// The containment applied to every local run.
#[derive(Debug, Default)]
pub struct Containment {
    cgroups: Option<CgroupParent>,
    landlock: Option<i32>,
    read_paths: Vec<PathBuf>,
    write_paths: Vec<PathBuf>,
    run_as: Option<RunAs>,
    /// The data directory, whose run directories a `run_as` user must reach.
    layout: Option<Layout>,
    /// See `ContainConfig::launcher`.
    launcher: Option<PathBuf>,
}

impl Containment {
    /// No containment (embedders and tests that want none).
    pub fn none() -> Self {
        Self::default()
    }

    /// Detects what the kernel offers for runs of the data directory `layout` and logs one
    /// line saying what will be applied. Scripts must reach neither the data directory nor
    /// the `database` file; `script_dirs` are the directories of the configured commands: a
    /// warning names any readable path that contains a protected one.
    pub fn setup(
        config: &ContainConfig,
        layout: &Layout,
        database: Option<&Path>,
        script_dirs: &[PathBuf],
    ) -> Result<Self, ContainError> {
        let run_as = match &config.run_as {
            Some(name) => resolve_run_as(name)?,
            None => None,
        };
        if let Some(user) = run_as {
            share_with(user, layout, database).map_err(|e| {
                ContainError::RunAs(format!("cannot prepare the data directory: {e}"))
            })?;
        }
        let who = match (&config.run_as, run_as) {
            (Some(name), Some(user)) => format!("scripts run as {name} (uid {})", user.uid),
            _ => "scripts run as the service user".to_owned(),
        };
        if config.mode == ConfineMode::Off {
            tracing::warn!("containment: off (confine_scripts = \"off\"); stop and timeout kill the process group only; {who}");
            return Ok(Self {
                run_as,
                layout: Some(layout.clone()),
                launcher: config.launcher.clone(),
                ..Self::none()
            });
        }
        let cgroups = detect_cgroups(layout.root());
        let landlock = detect_landlock();
        let line = format!(
            "containment: {}, {}; {who}",
            match &cgroups {
                Ok(p) => format!("cgroup v2 at {}", p.dir().display()),
                Err(why) =>
                    format!("no cgroup v2 ({why}; stop and timeout kill the process group only)"),
            },
            match &landlock {
                Ok(abi) => format!("landlock ABI {abi}"),
                Err(why) => format!("no landlock ({why}; scripts are not confined)"),
            }
        );
        if cgroups.is_ok() && landlock.is_ok() {
            tracing::info!("{line}");
        } else if config.mode == ConfineMode::Required {
            return Err(ContainError::Required(line));
        } else {
            tracing::warn!("{line}");
        }
        let contained = Self {
            cgroups: cgroups.ok(),
            landlock: landlock.ok(),
            read_paths: config.read_paths.clone(),
            write_paths: config.write_paths.clone(),
            run_as,
            layout: Some(layout.clone()),
            launcher: config.launcher.clone(),
        };
        for path in config.read_paths.iter().chain(&config.write_paths) {
            if !path.exists() {
                tracing::warn!(path = %path.display(), "containment: a configured script path does not exist and is not granted");
            }
        }
        if contained.landlock.is_some() {
            let mut protected = vec![layout.root().to_owned()];
            protected.extend(database.map(Path::to_owned));
            contained.warn_overlaps(layout.root(), &protected, script_dirs);
        }
        Ok(contained)
    }

    /// Warns about readable paths that contain the data directory or the database: the
    /// ruleset cannot take back what a parent directory grants.
    fn warn_overlaps(&self, data_dir: &Path, protected: &[PathBuf], script_dirs: &[PathBuf]) {
        let allowed = SYSTEM_READ_PATHS
            .iter()
            .map(PathBuf::from)
            .chain(script_dirs.iter().cloned())
            .chain(self.read_paths.iter().cloned())
            .chain(self.write_paths.iter().cloned());
        for warning in overlaps(allowed, data_dir, protected) {
            tracing::warn!("containment: {warning}");
        }
    }

    /// The parent of the runs' cgroups, when runs get one.
    pub fn cgroups(&self) -> Option<&CgroupParent> {
        self.cgroups.as_ref()
    }

    /// The kernel's Landlock ABI, when runs are confined.
    pub fn landlock_abi(&self) -> Option<i32> {
        self.landlock
    }

    /// The user scripts run as, when not the service user.
    pub fn run_as(&self) -> Option<RunAs> {
        self.run_as
    }

    /// Gives a run's directories to the `run_as` user: the working, output and temporary
    /// directories (with the input copies) become its own; the run directory, `runs/` and
    /// the data directory only let its group pass through (0710), so it reaches its own
    /// directories and lists nothing.
    pub(crate) fn hand_over(&self, job: &Job) -> io::Result<()> {
        let (Some(user), Some(layout)) = (self.run_as, &self.layout) else {
            return Ok(());
        };
        let run = layout.run_dir(job.process);
        for dir in [layout.root(), run.parent().unwrap_or(layout.root()), &run] {
            pass_through(dir, user.gid)?;
        }
        for dir in &job.writable {
            chown_tree(dir, user)?;
        }
        Ok(())
    }

    /// The Landlock ruleset of a job, built in the parent before fork (the child only
    /// enforces it). `None` when runs are not confined.
    pub(crate) fn ruleset(&self, job: &Job) -> Result<Option<RulesetCreated>, RulesetError> {
        match self.rules(job) {
            Some((read, write)) => build_ruleset(read, write).map(Some),
            None => Ok(None),
        }
    }

    /// The paths a run may read (and execute), and read and write; `None` without Landlock.
    pub(crate) fn rules(&self, job: &Job) -> Option<(Vec<PathBuf>, Vec<PathBuf>)> {
        self.landlock?;
        let readable = SYSTEM_READ_PATHS
            .iter()
            .map(PathBuf::from)
            .chain(job.readable.iter().cloned())
            .chain(self.read_paths.iter().cloned())
            .collect();
        let writable = job
            .writable
            .iter()
            .chain(&self.write_paths)
            .cloned()
            .chain(DEVICES.iter().map(PathBuf::from))
            .collect();
        Some((readable, writable))
    }

    /// Whether a run's child must do anything before exec (besides joining a cgroup).
    pub(crate) fn confines(&self) -> bool {
        self.landlock.is_some() || self.run_as.is_some()
    }

    /// The confining launcher runs are started through (`processd-launch`), if any.
    pub(crate) fn launcher(&self) -> Option<&Path> {
        self.launcher.as_deref()
    }
}

/// A run's Landlock ruleset: `readable` paths to read and execute, `writable` ones for
/// everything. Paths that do not exist are skipped; a file gets only the rights a file can
/// have.
pub(crate) fn build_ruleset(
    readable: impl IntoIterator<Item = PathBuf>,
    writable: impl IntoIterator<Item = PathBuf>,
) -> Result<RulesetCreated, RulesetError> {
    let abi = TARGET_ABI;
    Ruleset::default()
        .handle_access(AccessFs::from_all(abi))?
        .scope(Scope::Signal)?
        .create()?
        .add_rules(path_beneath_rules(readable, AccessFs::from_read(abi)))?
        .add_rules(path_beneath_rules(writable, AccessFs::from_all(abi)))?
        // Listing /dev is harmless; opening what is in it is not.
        .add_rules(path_beneath_rules(["/dev"], AccessFs::ReadDir))
}

/// Allowed paths that expose a protected one (or lie inside the data directory), compared
/// after resolving symlinks where the paths exist.
fn overlaps(
    allowed: impl Iterator<Item = PathBuf>,
    data_dir: &Path,
    protected: &[PathBuf],
) -> Vec<String> {
    let real = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let data_dir = real(data_dir);
    let protected: Vec<PathBuf> = protected.iter().map(|p| real(p)).collect();
    allowed
        .filter_map(|path| {
            let resolved = real(&path);
            if let Some(p) = protected.iter().find(|p| p.starts_with(&resolved)) {
                Some(format!(
                    "scripts may read {} because {} is allowed",
                    p.display(),
                    path.display()
                ))
            } else if resolved.starts_with(&data_dir) {
                Some(format!(
                    "the allowed path {} lies inside the data directory",
                    path.display()
                ))
            } else {
                None
            }
        })
        .collect()
}

/// The `run_as` user, or `None` when processd already runs as that user.
fn resolve_run_as(name: &str) -> Result<Option<RunAs>, ContainError> {
    let user = User::from_name(name)
        .map_err(|e| ContainError::RunAs(format!("cannot look up user {name:?}: {e}")))?
        .ok_or_else(|| {
            ContainError::RunAs(format!(
                "there is no user {name:?}; the operator must create it"
            ))
        })?;
    let me = geteuid();
    if user.uid == me {
        return Ok(None);
    }
    if !me.is_root() {
        return Err(ContainError::RunAs(format!(
            "processd must run as root to run scripts as {name:?}"
        )));
    }
    Ok(Some(RunAs {
        uid: user.uid,
        gid: user.gid,
    }))
}

/// Prepares the data directory for a `run_as` user: it may pass through the data directory
/// (0710, its group) but the database files are the service's alone (0600), whatever mode
/// they were created with.
fn share_with(user: RunAs, layout: &Layout, database: Option<&Path>) -> io::Result<()> {
    pass_through(layout.root(), user.gid)?;
    if let Some(db) = database {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            match fs::set_permissions(&path, fs::Permissions::from_mode(0o600)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Lets group `gid` pass through `dir` without listing it.
fn pass_through(dir: &Path, gid: Gid) -> io::Result<()> {
    chown(dir, None, Some(gid.as_raw()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o710))
}

/// Gives `dir` and everything in it (created by processd for the run; no symlinks are
/// followed) to `user`.
fn chown_tree(dir: &Path, user: RunAs) -> io::Result<()> {
    lchown(dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
    if fs::symlink_metadata(dir)?.is_dir() {
        for entry in fs::read_dir(dir)? {
            chown_tree(&entry?.path(), user)?;
        }
    }
    Ok(())
}

/// Whether runs of the data directory `data_dir` can have cgroups, and where; or why not.
pub fn detect_cgroups(data_dir: &Path) -> Result<CgroupParent, String> {
    CgroupParent::detect(&data_dir_tag(data_dir))
}

/// A short tag that is the same for a data directory across restarts and differs between
/// data directories, so two instances never kill each other's runs.
fn data_dir_tag(data_dir: &Path) -> String {
    let mut sum = Checksum::default();
    sum.update(data_dir.as_os_str().as_encoded_bytes());
    let (_, md5) = sum.value();
    md5[..12].to_owned()
}

/// The kernel's Landlock ABI version, or why Landlock cannot be used. The crate reports the
/// version only once a ruleset is enforced, so a throwaway thread restricts itself (Landlock
/// and `no_new_privs` are per thread): the same steps a child takes before exec.
pub fn detect_landlock() -> Result<i32, String> {
    let probe = std::thread::spawn(|| {
        Ruleset::default()
            .handle_access(AccessFs::Execute)?
            .create()?
            .restrict_self()
    });
    match probe.join() {
        Ok(Ok(status)) => match (status.ruleset, status.landlock) {
            (RulesetStatus::NotEnforced, _) | (_, LandlockStatus::NotEnabled) => {
                Err("Landlock is not enabled in this kernel".to_owned())
            }
            (_, LandlockStatus::NotImplemented) => Err("the kernel has no Landlock".to_owned()),
            (
                _,
                LandlockStatus::Available {
                    effective_abi,
                    kernel_abi,
                },
            ) => Ok(kernel_abi.unwrap_or(effective_abi as i32)),
        },
        Ok(Err(e)) => Err(format!("Landlock cannot be applied: {e}")),
        Err(_) => Err("the Landlock probe failed".to_owned()),
    }
}

/// The directories holding a script's command: for each absolute element of `command` that
/// exists, the directory itself or the one holding the file. Scripts often read files next to
/// themselves (modules, configuration).
pub fn command_dirs(command: &[String]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = command
        .iter()
        .map(Path::new)
        .filter(|p| p.is_absolute())
        .filter_map(|p| {
            let meta = std::fs::metadata(p).ok()?;
            if meta.is_dir() {
                Some(p.to_owned())
            } else {
                p.parent().map(Path::to_owned)
            }
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!("auto".parse(), Ok(ConfineMode::Auto));
        assert_eq!("required".parse(), Ok(ConfineMode::Required));
        assert_eq!("off".parse(), Ok(ConfineMode::Off));
        assert!("on".parse::<ConfineMode>().is_err());
    }

    #[test]
    fn command_dirs_are_the_existing_absolute_ones() {
        let command = [
            "/bin/sh".to_owned(),
            "python3".to_owned(),
            "/etc".to_owned(),
            "/nonexistent/x.sh".to_owned(),
            "-c".to_owned(),
        ];
        assert_eq!(
            command_dirs(&command),
            [PathBuf::from("/bin"), PathBuf::from("/etc")]
        );
    }

    #[test]
    fn tags_are_stable_and_distinct() {
        assert_eq!(data_dir_tag(Path::new("/a")), data_dir_tag(Path::new("/a")));
        assert_ne!(data_dir_tag(Path::new("/a")), data_dir_tag(Path::new("/b")));
        assert_eq!(data_dir_tag(Path::new("/a")).len(), 12);
    }

    #[test]
    fn paths_that_expose_the_data_directory_are_named() {
        let data = Path::new("/nonexistent-root/opt/processd/data");
        let protected = [data.to_owned(), data.join("processd.db")];
        let allowed = [
            "/nonexistent-root/opt",
            "/nonexistent-root/usr",
            "/nonexistent-root/opt/processd/data/files",
        ]
        .map(PathBuf::from);
        let found = overlaps(allowed.into_iter(), data, &protected);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains("because /nonexistent-root/opt is allowed"),
            "{found:?}"
        );
        assert!(found[1].contains("inside the data directory"), "{found:?}");
    }

    /// Detection on the running kernel gives a version or a reason, never both or neither.
    #[test]
    fn landlock_detection_gives_an_abi_or_a_reason() {
        match detect_landlock() {
            Ok(abi) => assert!(abi >= 1, "{abi}"),
            Err(reason) => assert!(!reason.is_empty()),
        }
    }
}
