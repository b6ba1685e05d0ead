//! The only code of processd that runs in a forked child before it execs a script: join the
//! run's cgroup (while still privileged), switch to the `run_as` user, then enforce the run's
//! Landlock ruleset. All is prepared in the parent (the cgroup's `cgroup.procs` opened, the
//! user resolved, the ruleset built with its rules); the child only makes system calls, so no
//! fork of the script can happen outside the cgroup or before the confinement.

use std::fs::File;
use std::io;

use landlock::RulesetCreated;
use nix::unistd::{setgid, setgroups, setuid};
use tokio::process::Command;

use crate::confine::RunAs;

/// What the child does to itself before exec.
pub(crate) struct ChildSetup {
    /// The run cgroup's `cgroup.procs`, opened by the parent.
    pub cgroup_procs: Option<File>,
    /// The user to become.
    pub run_as: Option<RunAs>,
    /// The run's ruleset, built by the parent.
    pub ruleset: Option<RulesetCreated>,
}

impl ChildSetup {
    /// Arranges for the child of `cmd` to join the cgroup, become the `run_as` user, then
    /// restrict itself, before it execs. Any failure fails the spawn.
    pub(crate) fn install(self, cmd: &mut Command) {
        let ChildSetup {
            cgroup_procs,
            run_as,
            mut ruleset,
        } = self;
        if cgroup_procs.is_none() && run_as.is_none() && ruleset.is_none() {
            return;
        }
        let hook = move || -> io::Result<()> {
            if let Some(procs) = &cgroup_procs {
                // "0" moves the writing process: the child itself, before it can fork.
                nix::unistd::write(procs, b"0")?;
            }
            if let Some(user) = run_as {
                // Groups first: only root may change them. No supplementary groups are kept.
                setgroups(&[user.gid])?;
                setgid(user.gid)?;
                setuid(user.uid)?;
            }
            if let Some(ruleset) = ruleset.take() {
                ruleset
                    .restrict_self()
                    .map_err(|_| io::Error::last_os_error())?;
            }
            Ok(())
        };
        // SAFETY: the hook runs in the child between fork and exec, where only
        // async-signal-safe work is sound (another thread of processd may have held a lock
        // at the fork). It allocates nothing and takes no lock; its calls are:
        // - `write(2)` of one byte to the already open `cgroup.procs` (nix passes the slice
        //   straight to the system call);
        // - `setgroups(2)` with a one-element array on the stack, `setgid(2)`, `setuid(2)`:
        //   thin wrappers of the system calls (the same calls std's own child setup makes for
        //   `CommandExt::uid`/`gid`);
        // - `RulesetCreated::restrict_self`: `prctl(PR_SET_NO_NEW_PRIVS)`, the
        //   `landlock_restrict_self(2)` system call on the ruleset fd built in the parent,
        //   and `close(2)` of that fd; on success it only fills a plain status struct, on
        //   failure it reads errno into an `io::Error` (no allocation);
        // - `Option::take` and `io::Error::last_os_error()`, which only read and write
        //   memory of this closure and errno.
        // The captured `File` and ruleset fd were opened with O_CLOEXEC, so the script does
        // not inherit them.
        #[expect(
            unsafe_code,
            reason = "a child must join its cgroup and confine itself between fork and exec"
        )]
        unsafe {
            cmd.pre_exec(hook);
        }
    }
}
