//! Identifying a local OS process safely. A pid alone is reused; pid plus the process's start
//! time (field 22 of /proc/PID/stat, in clock ticks since boot) names one process for good
//! within one boot, and the kernel's boot id tells boots apart, so nothing is ever signalled
//! across a reboot.

/// The start time of `pid`, if it exists.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: skip past the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This boot's id (a UUID the kernel picks at boot).
pub fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_owned()).filter(|id| !id.is_empty() && !id.contains(':'))
}

/// The `executorJobId` of a local job: `local:<pid>:<start time>:<boot id>`.
pub fn job_id(pid: i32) -> String {
    match (start_time(pid), boot_id()) {
        (Some(t), Some(boot)) => format!("local:{pid}:{t}:{boot}"),
        (Some(t), None) => format!("local:{pid}:{t}"),
        _ => format!("local:{pid}"),
    }
}

/// The process group of a local job if any of its processes is still alive: the leader
/// itself (same pid and start time), or, once the leader is gone, members of its group (a
/// group id cannot be taken by a new group while its leader's pid is free). A pid reused by
/// an unrelated process is never reported.
pub fn live_group(job_id: &str) -> Option<i32> {
    let mut parts = job_id.strip_prefix("local:")?.split(':');
    let pid: i32 = parts.next()?.parse().ok()?;
    let started: u64 = parts.next()?.parse().ok()?;
    // Ids recorded before boot ids were (three parts) keep the pid and start time rule.
    if let Some(boot) = parts.next() {
        if Some(boot) != boot_id().as_deref() {
            return None;
        }
    }
    if pid <= 0 {
        return None;
    }
    match start_time(pid) {
        Some(t) if t == started => Some(pid),
        Some(_) => None,
        None => group_has_members(pid).then_some(pid),
    }
}

fn group_has_members(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|entry| {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            return false;
        };
        // Zombies are already dead; only live members count.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
                let state = fields.next()?;
                let pgrp = fields.nth(1)?.parse::<i32>().ok()?;
                Some(state != "Z" && pgrp == pgid)
            })
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_identified() {
        let me = i32::try_from(std::process::id()).unwrap();
        let id = job_id(me);
        assert!(id.starts_with(&format!("local:{me}:")));
        assert_eq!(live_group(&id), Some(me));
        assert_eq!(live_group(&format!("local:{me}:1")), None);
        // The same pid and start time in another boot is another process.
        let start = start_time(me).unwrap();
        assert_eq!(live_group(&format!("local:{me}:{start}")), Some(me));
        let other_boot = format!("local:{me}:{start}:00000000-0000-0000-0000-000000000000");
        assert_eq!(live_group(&other_boot), None);
        assert_eq!(live_group("slurm:12"), None);
    }
}
