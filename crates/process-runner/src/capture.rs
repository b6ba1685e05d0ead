//! Output capture: turns executor events into stored output lines, in batches (one
//! transaction per batch, never one per line), applying `::progress::N` lines and the
//! per-process output cap.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use process_core::output::{parse_progress, MAX_LINE_BYTES};
use process_core::{OutputLine, ProcessId, ProcessRepository};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::blocking::blocking;
use crate::executor::Event;

/// Lines per batch, and the longest a captured line waits before it is stored.
const BATCH_LINES: usize = 2_000;
const BATCH_DELAY: Duration = Duration::from_millis(100);

/// Batches of lines once they are stored, for every live follower of one process: followers
/// read them from memory instead of each querying the store, and a follower that falls
/// behind by more than the channel holds catches up from the store.
pub type Live = broadcast::Sender<Arc<Vec<OutputLine>>>;

/// Stored batches a lagging follower may be behind before it reads from the store instead.
pub const LIVE_BATCHES: usize = 16;

#[derive(Debug, Default)]
pub struct CaptureSummary {
    /// Sequence number of the last stored line.
    pub last_seq: i64,
}

struct Capture<R: ProcessRepository> {
    repo: Arc<R>,
    process: ProcessId,
    max_bytes: u64,
    bytes: u64,
    seq: i64,
    truncated: bool,
    /// The truncation marker is in the batch being filled: the flush records it.
    truncation_pending: bool,
    batch: Vec<OutputLine>,
    progress: Option<u8>,
    /// Stored batches, for live followers.
    live: Live,
    /// Lines stored by every capture of this node (for metrics).
    counter: Arc<AtomicU64>,
    /// The batch being stored while the next one fills: at most one, so batches are stored
    /// (and announced to followers) in order and memory stays bounded.
    in_flight: Option<JoinHandle<()>>,
}

/// One batch on its way to the store.
struct Flush<R: ProcessRepository> {
    repo: Arc<R>,
    process: ProcessId,
    lines: Arc<Vec<OutputLine>>,
    progress: Option<u8>,
    /// This batch holds the truncation marker.
    mark_truncated: bool,
    live: Live,
    counter: Arc<AtomicU64>,
}

/// Consumes `events` until every sender is gone; returns what was stored.
pub async fn capture<R: ProcessRepository>(
    repo: Arc<R>,
    process: ProcessId,
    mut events: mpsc::Receiver<Event>,
    max_bytes: u64,
    live: Live,
    counter: Arc<AtomicU64>,
) -> CaptureSummary {
    let mut c = Capture {
        repo,
        process,
        max_bytes,
        bytes: 0,
        seq: 0,
        truncated: false,
        truncation_pending: false,
        batch: Vec::new(),
        progress: None,
        live,
        counter,
        in_flight: None,
    };
    let mut deadline: Option<Instant> = None;
    loop {
        let event = match deadline {
            None => events.recv().await,
            Some(at) => match tokio::time::timeout_at(at, events.recv()).await {
                Ok(e) => e,
                Err(_) => {
                    c.flush().await;
                    deadline = None;
                    continue;
                }
            },
        };
        let Some(event) = event else { break };
        match event {
            Event::JobId(job) => {
                let id = c.process;
                if let Err(e) = blocking(&c.repo, move |r| r.set_executor_job_id(id, &job)).await {
                    tracing::error!(process = %id, error = %e, "could not record the job id");
                }
            }
            Event::Line {
                stream,
                bytes,
                time,
                cut,
            } => {
                c.push(stream, bytes, time, cut);
                if c.batch.len() >= BATCH_LINES {
                    c.flush().await;
                    deadline = None;
                } else if deadline.is_none() && !c.batch.is_empty() {
                    deadline = Some(Instant::now() + BATCH_DELAY);
                }
            }
        }
    }
    c.flush().await;
    c.settle().await;
    CaptureSummary { last_seq: c.seq }
}

impl<R: ProcessRepository> Capture<R> {
    fn push(
        &mut self,
        stream: process_core::Stream,
        bytes: Vec<u8>,
        time: time::OffsetDateTime,
        cut: bool,
    ) {
        if self.truncated {
            return;
        }
        let mut line = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        // PostgreSQL text cannot hold NUL; the same replacement on both backends keeps them
        // alike.
        if line.contains('\0') {
            line = line.replace('\0', "\u{FFFD}");
        }
        if cut {
            line.push_str(&format!(" [processd: line cut at {MAX_LINE_BYTES} bytes]"));
        }
        self.bytes += line.len() as u64 + 1;
        if self.bytes > self.max_bytes {
            self.truncated = true;
            self.truncation_pending = true;
            line = format!(
                "[processd: output truncated: more than {} bytes; the script keeps running]",
                self.max_bytes
            );
        } else if let Some(p) = parse_progress(&line) {
            self.progress = Some(p);
        }
        self.seq += 1;
        self.batch.push(OutputLine {
            seq: self.seq,
            time,
            stream,
            line,
        });
    }

    /// Starts storing the batch once the previous one is stored, and returns: reading goes on
    /// while the database works (process-bench capture: see docs/benchmarks.md).
    async fn flush(&mut self) {
        let lines = std::mem::take(&mut self.batch);
        let progress = self.progress.take();
        let mark_truncated = std::mem::take(&mut self.truncation_pending);
        if lines.is_empty() && progress.is_none() {
            return;
        }
        let flush = Flush {
            repo: Arc::clone(&self.repo),
            process: self.process,
            lines: Arc::new(lines),
            progress,
            mark_truncated,
            live: self.live.clone(),
            counter: Arc::clone(&self.counter),
        };
        self.settle().await;
        self.in_flight = Some(tokio::spawn(flush.run()));
    }

    /// Waits until the batch in flight, if any, is stored (or given up).
    async fn settle(&mut self) {
        if let Some(task) = self.in_flight.take() {
            if let Err(e) = task.await {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
    }
}

impl<R: ProcessRepository> Flush<R> {
    /// Stores the batch. A failing store is retried a few times before the batch is given up
    /// (and the loss logged); capture itself never stops reading, so the script never blocks
    /// forever on a full pipe.
    async fn run(self) {
        let Flush {
            repo,
            process: id,
            lines,
            progress,
            mark_truncated,
            live,
            counter,
        } = self;
        let mut delay = Duration::from_millis(100);
        for attempt in 1..=5 {
            let batch = Arc::clone(&lines);
            let result = blocking(&repo, move |r| {
                r.append_output(id, &batch)?;
                if let Some(p) = progress {
                    r.set_progress(id, p)?;
                }
                if mark_truncated {
                    r.set_output_truncated(id)?;
                }
                Ok(())
            })
            .await;
            match result {
                Ok(()) => {
                    counter.fetch_add(lines.len() as u64, Ordering::Relaxed);
                    // Followers get the stored batch from memory; nobody listening is fine.
                    let _ = live.send(lines);
                    return;
                }
                Err(e) if attempt < 5 => {
                    tracing::warn!(process = %id, error = %e, attempt, "storing output failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => {
                    tracing::error!(process = %id, error = %e, lines = lines.len(), "output lost: the store keeps failing");
                }
            }
        }
    }
}
