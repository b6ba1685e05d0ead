//! The confining launcher: a small program (`processd-launch`, installed next to `processd`),
//! started with `posix_spawn` by the local executor as `processd-launch
//! --processd-confined-exec SPEC… -- PROGRAM ARGS…`. It joins the run's cgroup,
//! becomes the `run_as` user, restricts itself with the run's Landlock ruleset, then execs
//! the script. Confining in a child of processd between fork and exec makes the standard
//! library fork the whole service (page tables of every thread and heap copied, then
//! copy-on-write faults in both) for each run; a spawned launcher costs processd a `vfork`
//! only, and does its work in a process of its own.
//!
//! The launcher's failures are the run's: a message on its stderr, then exit status 126
//! (confinement failed) or 127 (the script could not be executed), as a shell answers.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};

use crate::confine::{build_ruleset, RunAs};

/// The first argument of a launcher, so that it is never started by mistake.
pub const ARG: &str = "--processd-confined-exec";

/// What the launcher does before it execs the script.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Spec {
    /// The run cgroup's `cgroup.procs`.
    pub cgroup_procs: Option<PathBuf>,
    pub run_as: Option<RunAs>,
    /// Landlock: paths to read (and execute), and to read and write; `None` without it.
    pub landlock: Option<(Vec<PathBuf>, Vec<PathBuf>)>,
}

impl Spec {
    /// The launcher's arguments for this spec and the script's argv.
    pub(crate) fn args(&self, argv: &[String]) -> Vec<OsString> {
        let mut out: Vec<OsString> = vec![ARG.into()];
        if let Some(p) = &self.cgroup_procs {
            out.extend(["--cgroup".into(), p.into()]);
        }
        if let Some(u) = self.run_as {
            out.extend(["--uid".into(), u.uid.to_string().into()]);
            out.extend(["--gid".into(), u.gid.to_string().into()]);
        }
        if let Some((read, write)) = &self.landlock {
            out.push("--landlock".into());
            for p in read {
                out.extend(["--read".into(), p.into()]);
            }
            for p in write {
                out.extend(["--write".into(), p.into()]);
            }
        }
        out.push("--".into());
        out.extend(argv.iter().map(OsString::from));
        out
    }

    /// Parses what `args` wrote (after `ARG`); returns the spec and the script's argv.
    fn parse(mut rest: impl Iterator<Item = OsString>) -> Result<(Self, Vec<OsString>), String> {
        let mut spec = Spec::default();
        let (mut uid, mut gid) = (None, None);
        let number = |v: Option<OsString>| -> Result<u32, String> {
            v.as_deref()
                .and_then(OsStr::to_str)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| "a number expected".to_owned())
        };
        loop {
            let Some(arg) = rest.next() else {
                return Err("no -- before the command".to_owned());
            };
            match arg.to_str().unwrap_or_default() {
                "--cgroup" => spec.cgroup_procs = rest.next().map(PathBuf::from),
                "--uid" => uid = Some(Uid::from_raw(number(rest.next())?)),
                "--gid" => gid = Some(Gid::from_raw(number(rest.next())?)),
                "--landlock" => spec.landlock = Some((Vec::new(), Vec::new())),
                flag @ ("--read" | "--write") => {
                    let (Some((read, write)), Some(p)) = (spec.landlock.as_mut(), rest.next())
                    else {
                        return Err(format!("{flag} without --landlock or a path"));
                    };
                    if flag == "--read" { read } else { write }.push(PathBuf::from(p));
                }
                "--" => break,
                other => return Err(format!("unknown launcher argument {other:?}")),
            }
        }
        spec.run_as = match (uid, gid) {
            (Some(uid), Some(gid)) => Some(RunAs { uid, gid }),
            (None, None) => None,
            _ => return Err("--uid and --gid go together".to_owned()),
        };
        let argv: Vec<OsString> = rest.collect();
        if argv.is_empty() {
            return Err("no command".to_owned());
        }
        Ok((spec, argv))
    }
}

/// When started as a launcher, confines this process and execs the script; returns the exit
/// status to end with if that failed. `None`: not started as a launcher.
pub fn dispatch() -> Option<i32> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(ARG)) {
        return None;
    }
    let fail = |code: i32, what: String| {
        let _ = writeln!(std::io::stderr(), "processd: {what}");
        Some(code)
    };
    let (spec, argv) = match Spec::parse(args) {
        Ok(parsed) => parsed,
        Err(e) => return fail(126, e),
    };
    if let Err(e) = confine(&spec) {
        return fail(126, format!("cannot confine the script: {e}"));
    }
    let err = Command::new(&argv[0]).args(&argv[1..]).exec();
    fail(
        127,
        format!("cannot start {}: {err}", argv[0].to_string_lossy()),
    )
}

/// In the order the forked child used: cgroup first (while privileged, before anything can
/// fork), the ruleset built while the paths are still reachable, then the user, then the
/// restriction.
fn confine(spec: &Spec) -> Result<(), String> {
    if let Some(procs) = &spec.cgroup_procs {
        // "0" moves the writing process: this one, which becomes the script.
        std::fs::write(procs, b"0").map_err(|e| format!("cgroup {}: {e}", procs.display()))?;
    }
    let ruleset = match &spec.landlock {
        Some((read, write)) => Some(
            build_ruleset(read.iter().cloned(), write.iter().cloned())
                .map_err(|e| format!("landlock: {e}"))?,
        ),
        None => None,
    };
    if let Some(user) = spec.run_as {
        // Groups first: only root may change them. No supplementary groups are kept.
        setgroups(&[user.gid]).map_err(|e| format!("run_as: {e}"))?;
        setgid(user.gid).map_err(|e| format!("run_as: {e}"))?;
        setuid(user.uid).map_err(|e| format!("run_as: {e}"))?;
    }
    if let Some(ruleset) = ruleset {
        ruleset
            .restrict_self()
            .map_err(|e| format!("landlock: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_survives_its_arguments() {
        let spec = Spec {
            cgroup_procs: Some("/sys/fs/cgroup/p/run-1/cgroup.procs".into()),
            run_as: Some(RunAs {
                uid: Uid::from_raw(1000),
                gid: Gid::from_raw(100),
            }),
            landlock: Some((vec!["/usr".into(), "/etc".into()], vec!["/d/runs/1".into()])),
        };
        let argv = vec!["/bin/echo".to_owned(), "--".to_owned(), "x".to_owned()];
        let args = spec.args(&argv);
        assert_eq!(args[0], ARG);
        let (parsed, command) = Spec::parse(args.into_iter().skip(1)).unwrap();
        assert_eq!(parsed, spec);
        assert_eq!(command, ["/bin/echo", "--", "x"]);
        let bare = Spec::default();
        let (parsed, _) = Spec::parse(bare.args(&argv).into_iter().skip(1)).unwrap();
        assert_eq!(parsed, bare);
    }

    #[test]
    fn bad_launcher_arguments_are_refused() {
        let parse = |a: &[&str]| Spec::parse(a.iter().map(OsString::from));
        assert!(parse(&["--uid", "1"]).is_err());
        assert!(parse(&["--read", "/x", "--", "/bin/true"]).is_err());
        assert!(parse(&["--uid", "1", "--", "/bin/true"]).is_err());
        assert!(parse(&["--"]).is_err());
        assert!(parse(&["--bogus", "--", "/bin/true"]).is_err());
    }
}
