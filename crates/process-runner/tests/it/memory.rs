//! An in-memory process repository and output log that keeps the ports' contracts the way
//! the SQL store does, so the runner can be tested without a database. Tests can make the
//! next calls of an operation fail and pause a claim halfway, to drive retries and races.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Condvar, Mutex, MutexGuard};

use process_core::dependency::{readiness, Readiness};
use process_core::{
    Claim, NewProcess, NodeName, OutputLine, OutputLog, OutputRange, Process, ProcessFile,
    ProcessId, ProcessRepository, ProcessStatus, StatusReason, Stream, Transition, Unmet,
};
use time::OffsetDateTime;

/// An operation whose next calls can be made to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Transition,
    Claim,
    AppendOutput,
    AddFiles,
}

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("injected failure of {0:?}")]
    Injected(Op),
    /// What the primary key of the output table refuses.
    #[error("process {0} already has an output line {1}")]
    DuplicateLine(ProcessId, i64),
}

struct Row {
    process: Process,
    /// The node that claimed it.
    node: Option<NodeName>,
}

#[derive(Default)]
struct State {
    last_id: i64,
    rows: BTreeMap<ProcessId, Row>,
    files: Vec<ProcessFile>,
    output: HashMap<ProcessId, BTreeMap<i64, OutputLine>>,
    failures: HashMap<Op, u32>,
    /// Scheduler rounds seen: every round asks for the next start time.
    rounds: u64,
}

impl State {
    /// Refuses the call before it changes anything, as a broken connection would.
    fn injected(&mut self, op: Op) -> Result<(), MemoryError> {
        match self.failures.get_mut(&op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(MemoryError::Injected(op))
            }
            _ => Ok(()),
        }
    }

    fn status(&self, id: ProcessId) -> Option<ProcessStatus> {
        self.rows.get(&id).map(|r| r.process.status())
    }

    fn apply(&mut self, id: ProcessId, t: &Transition) -> Option<Process> {
        let row = self.rows.get_mut(&id)?;
        // The compare-and-set of the SQL store: `WHERE status IN (sources)`.
        if !t.sources().contains(&row.process.status()) {
            return None;
        }
        // `Process::apply` records the same facts as the store's UPDATE.
        row.process.apply(t).ok()?;
        assert_eq!(row.process.status(), t.target());
        Some(row.process.clone())
    }
}

#[derive(Default)]
struct Pause {
    armed: bool,
    parked: bool,
}

/// Both ports over one mutex.
#[derive(Default)]
pub struct Memory {
    state: Mutex<State>,
    pause: Mutex<Pause>,
    resumed: Condvar,
}

impl Memory {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// An id for a process about to be added, so a test can plan its job first.
    pub fn reserve_id(&self) -> ProcessId {
        let mut s = self.state();
        s.last_id += 1;
        ProcessId::new(s.last_id).unwrap()
    }

    /// Stores a SCHEDULED process under a reserved id.
    pub fn insert(&self, id: ProcessId, new: NewProcess) {
        let mut process = Process::stored(
            id,
            new.owner,
            new.script,
            ProcessStatus::Scheduled,
            new.creation_time,
        );
        process.parameters = new.parameters;
        process.not_before = new.not_before;
        process.depends_on = new.depends_on;
        process.dependency_type = new.dependency_type;
        self.state().rows.insert(
            id,
            Row {
                process,
                node: None,
            },
        );
    }

    /// Stores a process an earlier life of `node` left RUNNING, with the lines it wrote.
    pub fn insert_running(
        &self,
        new: NewProcess,
        node: &str,
        job_id: Option<&str>,
        lines: &[&str],
    ) -> ProcessId {
        let id = self.reserve_id();
        self.insert(id, new);
        let mut s = self.state();
        let started = s.apply(
            id,
            &Transition::Start {
                at: OffsetDateTime::now_utc(),
                executor_job_id: job_id.map(str::to_owned),
            },
        );
        assert!(started.is_some());
        s.rows.get_mut(&id).unwrap().node = Some(NodeName::new(node));
        let log = s.output.entry(id).or_default();
        for (seq, line) in (1..).zip(lines) {
            log.insert(
                seq,
                OutputLine {
                    seq,
                    time: OffsetDateTime::now_utc(),
                    stream: Stream::Stdout,
                    line: (*line).to_owned(),
                },
            );
        }
        id
    }

    /// Makes the next `n` calls of `op` fail.
    pub fn fail_next(&self, op: Op, n: u32) {
        *self.state().failures.entry(op).or_default() += n;
    }

    /// Injected failures of `op` not yet used up.
    pub fn failures_left(&self, op: Op) -> u32 {
        self.state().failures.get(&op).copied().unwrap_or(0)
    }

    /// Scheduler rounds so far.
    pub fn rounds(&self) -> u64 {
        self.state().rounds
    }

    pub fn process(&self, id: ProcessId) -> Process {
        self.state().rows[&id].process.clone()
    }

    pub fn status(&self, id: ProcessId) -> ProcessStatus {
        self.process(id).status()
    }

    /// Every stored line of a process, in order.
    pub fn lines(&self, id: ProcessId) -> Vec<OutputLine> {
        self.state()
            .output
            .get(&id)
            .map(|l| l.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The stored lines as (seq, stream, text).
    pub fn texts(&self, id: ProcessId) -> Vec<(i64, Stream, String)> {
        self.lines(id)
            .into_iter()
            .map(|l| (l.seq, l.stream, l.line))
            .collect()
    }

    pub fn files_of(&self, id: ProcessId) -> Vec<ProcessFile> {
        self.files(id).unwrap()
    }

    /// From now on a claim that starts something stops after its write, before returning,
    /// until [`Memory::resume_claims`]: the runner then holds processes RUNNING in the store
    /// that it has not registered yet.
    pub fn pause_claims(&self) {
        self.pause.lock().unwrap().armed = true;
    }

    /// Whether a claim is paused (its processes already RUNNING in the store).
    pub fn claim_paused(&self) -> bool {
        self.pause.lock().unwrap().parked
    }

    pub fn resume_claims(&self) {
        self.pause.lock().unwrap().armed = false;
        self.resumed.notify_all();
    }

    fn park_if_paused(&self) {
        let mut pause = self.pause.lock().unwrap();
        if pause.armed {
            pause.parked = true;
            while pause.armed {
                pause = self.resumed.wait(pause).unwrap();
            }
            pause.parked = false;
        }
    }
}

impl ProcessRepository for Memory {
    type Error = MemoryError;

    fn transition(&self, id: ProcessId, t: &Transition) -> Result<Option<Process>, MemoryError> {
        let mut s = self.state();
        s.injected(Op::Transition)?;
        Ok(s.apply(id, t))
    }

    fn claim(
        &self,
        node: &NodeName,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Claim, MemoryError> {
        let claim = {
            let mut s = self.state();
            s.injected(Op::Claim)?;
            let unfinished = |s: &State, d: &ProcessId| {
                matches!(
                    s.status(*d),
                    Some(ProcessStatus::Scheduled | ProcessStatus::Running)
                )
            };
            // Oldest first: the map is ordered by id.
            let due: Vec<Process> = s
                .rows
                .values()
                .map(|r| &r.process)
                .filter(|p| p.status() == ProcessStatus::Scheduled)
                .filter(|p| p.not_before.is_none_or(|t| t <= now))
                .filter(|p| !p.depends_on.iter().any(|d| unfinished(&s, d)))
                .take(usize::try_from(limit).unwrap())
                .cloned()
                .collect();
            let mut claim = Claim::default();
            for p in due {
                let deps: Vec<Option<ProcessStatus>> =
                    p.depends_on.iter().map(|d| s.status(*d)).collect();
                match readiness(p.dependency_type, &deps) {
                    Readiness::Ready => {
                        let start = Transition::Start {
                            at: now,
                            executor_job_id: None,
                        };
                        let started = s.apply(p.id, &start).unwrap();
                        s.rows.get_mut(&p.id).unwrap().node = Some(node.clone());
                        claim.started.push(started);
                    }
                    Readiness::Fail => {
                        let fail = Transition::Fail {
                            at: now,
                            reason: StatusReason::Dependency,
                            exit_code: None,
                        };
                        let failed = s.apply(p.id, &fail).unwrap();
                        let dependencies = p
                            .depends_on
                            .iter()
                            .copied()
                            .filter(|d| s.status(*d) != Some(ProcessStatus::Completed))
                            .collect();
                        claim.unmet.push(Unmet {
                            process: failed,
                            dependencies,
                        });
                    }
                    Readiness::Wait => unreachable!("the due filter left out waiting processes"),
                }
            }
            claim
        };
        if !claim.started.is_empty() {
            self.park_if_paused();
        }
        Ok(claim)
    }

    fn next_start_time(&self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, MemoryError> {
        let mut s = self.state();
        s.rounds += 1;
        Ok(s.rows
            .values()
            .filter(|r| r.process.status() == ProcessStatus::Scheduled)
            .filter_map(|r| r.process.not_before)
            .filter(|t| *t > now)
            .min())
    }

    fn running_on(&self, node: &NodeName) -> Result<Vec<Process>, MemoryError> {
        Ok(self
            .state()
            .rows
            .values()
            .filter(|r| r.process.status() == ProcessStatus::Running)
            .filter(|r| r.node.as_ref() == Some(node))
            .map(|r| r.process.clone())
            .collect())
    }

    fn set_executor_job_id(&self, id: ProcessId, job: &str) -> Result<(), MemoryError> {
        if let Some(r) = self.state().rows.get_mut(&id) {
            r.process.executor_job_id = Some(job.to_owned());
        }
        Ok(())
    }

    fn set_progress(&self, id: ProcessId, percent: u8) -> Result<(), MemoryError> {
        if let Some(r) = self.state().rows.get_mut(&id) {
            r.process.percent_complete = Some(percent);
        }
        Ok(())
    }

    fn set_output_truncated(&self, id: ProcessId) -> Result<(), MemoryError> {
        if let Some(r) = self.state().rows.get_mut(&id) {
            r.process.output_truncated = true;
        }
        Ok(())
    }

    fn files(&self, id: ProcessId) -> Result<Vec<ProcessFile>, MemoryError> {
        Ok(self
            .state()
            .files
            .iter()
            .filter(|f| f.process_id == id)
            .cloned()
            .collect())
    }

    fn add_files(&self, files: &[ProcessFile]) -> Result<(), MemoryError> {
        let mut s = self.state();
        s.injected(Op::AddFiles)?;
        s.files.extend_from_slice(files);
        Ok(())
    }
}

impl OutputLog for Memory {
    type Error = MemoryError;

    fn append_output(&self, id: ProcessId, lines: &[OutputLine]) -> Result<(), MemoryError> {
        let mut s = self.state();
        s.injected(Op::AppendOutput)?;
        let log = s.output.entry(id).or_default();
        // All or nothing, like the store's transaction.
        for (i, l) in lines.iter().enumerate() {
            if log.contains_key(&l.seq) || lines[..i].iter().any(|o| o.seq == l.seq) {
                return Err(MemoryError::DuplicateLine(id, l.seq));
            }
        }
        log.extend(lines.iter().map(|l| (l.seq, l.clone())));
        Ok(())
    }

    fn read_output(
        &self,
        id: ProcessId,
        range: &OutputRange,
        limit: u32,
    ) -> Result<Vec<OutputLine>, MemoryError> {
        Ok(self
            .state()
            .output
            .get(&id)
            .into_iter()
            .flat_map(BTreeMap::values)
            .filter(|l| range.contains(l))
            .take(usize::try_from(limit).unwrap())
            .cloned()
            .collect())
    }

    fn last_output_seq(&self, id: ProcessId) -> Result<i64, MemoryError> {
        Ok(self
            .state()
            .output
            .get(&id)
            .and_then(|l| l.keys().next_back().copied())
            .unwrap_or(0))
    }

    fn remove_output(&self, id: ProcessId) -> Result<(), MemoryError> {
        self.state().output.remove(&id);
        Ok(())
    }
}
