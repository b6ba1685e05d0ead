//! The only code of processd that runs in a forked child before it execs a script: join the
//! run's cgroup, then enforce the run's Landlock ruleset. Both are prepared in the parent
//! (the cgroup's `cgroup.procs` opened, the ruleset built with its rules); the child only
//! makes system calls, so no fork of the script can happen outside the cgroup or before the
//! confinement.

use std::fs::File;
use std::io;

use landlock::RulesetCreated;
use tokio::process::Command;

/// What the child does to itself before exec.
pub(crate) struct ChildSetup {
    /// The run cgroup's `cgroup.procs`, opened by the parent.
    pub cgroup_procs: Option<File>,
    /// The run's ruleset, built by the parent.
    pub ruleset: Option<RulesetCreated>,
}

impl ChildSetup {
    /// Arranges for the child of `cmd` to join the cgroup, then restrict itself, before it
    /// execs. A failure of either fails the spawn.
    pub(crate) fn install(self, cmd: &mut Command) {
        let ChildSetup {
            cgroup_procs,
            mut ruleset,
        } = self;
        if cgroup_procs.is_none() && ruleset.is_none() {
            return;
        }
        let hook = move || -> io::Result<()> {
            if let Some(procs) = &cgroup_procs {
                // "0" moves the writing process: the child itself, before it can fork.
                nix::unistd::write(procs, b"0")?;
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
        // - `write(2)` of two bytes to the already open `cgroup.procs` (nix passes the slice
        //   straight to the system call);
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
