//! Output capture: turns a job's raw lines into stored output lines, in batches (one write
//! per batch, never one per line), applying `::progress::N` lines and the per-process
//! output cap. Lines go to the output log; progress and the truncation flag to the process
//! repository.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use process_core::output::{parse_progress, MAX_LINE_BYTES};
use process_core::{OutputBatch, OutputLine, OutputLog, ProcessId, ProcessRepository};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::blocking::blocking;
use crate::error::BoxError;
use crate::executor::RawLines;

/// Lines per batch, and the longest a captured line waits before it is stored.
const BATCH_LINES: usize = 2_000;
const BATCH_DELAY: Duration = Duration::from_millis(100);

/// Batches of lines once they are stored, for every live follower of one process: followers
/// read them from memory instead of each querying the store, and a follower that falls
/// behind by more than the channel holds catches up from the store.
pub type Live = broadcast::Sender<Arc<Vec<OutputLine>>>;

/// What a line counts toward `max_output_bytes` at least: about what storing one costs.
pub const MIN_LINE_COST: u64 = 48;

/// Stored batches a lagging follower may be behind before it reads from the store instead.
pub const LIVE_BATCHES: usize = 16;

#[derive(Debug, Default)]
pub struct CaptureSummary {
    /// Sequence number of the last stored line.
    pub last_seq: i64,
}

/// NUL is shown as U+FFFD, as it always was (PostgreSQL text, which once held the lines,
/// cannot hold it).
fn push_text(text: &mut String, s: &str) {
    if memchr::memchr(0, s.as_bytes()).is_some() {
        text.push_str(&s.replace('\0', "\u{FFFD}"));
    } else {
        text.push_str(s);
    }
}

/// Where captured output is stored.
pub struct Sink<R, O> {
    pub repo: Arc<R>,
    pub log: Arc<O>,
    /// Stored batches, for live followers.
    pub live: Live,
    /// Lines stored by every capture of this node (for metrics).
    pub counter: Arc<AtomicU64>,
}

impl<R, O> Clone for Sink<R, O> {
    fn clone(&self) -> Self {
        Self {
            repo: Arc::clone(&self.repo),
            log: Arc::clone(&self.log),
            live: self.live.clone(),
            counter: Arc::clone(&self.counter),
        }
    }
}

struct Capture<R, O> {
    sink: Sink<R, O>,
    process: ProcessId,
    max_bytes: u64,
    bytes: u64,
    seq: i64,
    truncated: bool,
    /// The truncation marker is in the batch being filled: the flush records it.
    truncation_pending: bool,
    batch: OutputBatch,
    progress: Option<u8>,
    /// The batch being stored while the next one fills: at most one, so batches are stored
    /// (and announced to followers) in order and memory stays bounded.
    in_flight: Option<JoinHandle<()>>,
}

/// One batch on its way to the store.
struct Flush<R, O> {
    sink: Sink<R, O>,
    process: ProcessId,
    lines: Arc<OutputBatch>,
    progress: Option<u8>,
    /// This batch holds the truncation marker.
    mark_truncated: bool,
}

/// Consumes `lines` until every sender is gone; returns what was stored. Numbering goes on
/// after `last_seq` (0 for a new run; the stored last line for a job followed again).
pub async fn capture<R: ProcessRepository, O: OutputLog>(
    sink: Sink<R, O>,
    process: ProcessId,
    mut lines: mpsc::Receiver<RawLines>,
    last_seq: i64,
    max_bytes: u64,
) -> CaptureSummary {
    let mut c = Capture {
        sink,
        process,
        max_bytes,
        bytes: 0,
        seq: last_seq,
        truncated: false,
        truncation_pending: false,
        batch: OutputBatch::default(),
        progress: None,
        in_flight: None,
    };
    let mut deadline: Option<Instant> = None;
    loop {
        let event = match deadline {
            None => lines.recv().await,
            Some(at) => match tokio::time::timeout_at(at, lines.recv()).await {
                Ok(e) => e,
                Err(_) => {
                    c.flush().await;
                    deadline = None;
                    continue;
                }
            },
        };
        let Some(read) = event else {
            break;
        };
        for (bytes, cut) in read.iter() {
            c.push(read.stream, bytes, read.time, cut);
        }
        if c.batch.len() >= BATCH_LINES {
            c.flush().await;
            deadline = None;
        } else if deadline.is_none() && !c.batch.is_empty() {
            deadline = Some(Instant::now() + BATCH_DELAY);
        }
    }
    c.flush().await;
    c.settle().await;
    CaptureSummary { last_seq: c.seq }
}

impl<R: ProcessRepository, O: OutputLog> Capture<R, O> {
    fn push(
        &mut self,
        stream: process_core::Stream,
        bytes: &[u8],
        time: time::OffsetDateTime,
        cut: bool,
    ) {
        if self.truncated {
            return;
        }
        self.seq += 1;
        // The text goes straight into the batch's one buffer: no string per line.
        let line = self.batch.push_with(self.seq, time, stream, |text| {
            match std::str::from_utf8(bytes) {
                Ok(s) => push_text(text, s),
                Err(_) => push_text(text, &String::from_utf8_lossy(bytes)),
            }
            if cut {
                text.push_str(&format!(" [processd: line cut at {MAX_LINE_BYTES} bytes]"));
            }
        });
        let (len, progress) = (line.len(), parse_progress(line));
        // Every line is a stored record whatever its length: short ones count as if they were
        // MIN_LINE_COST bytes, so a flood of empty lines cannot store 48 times the cap.
        self.bytes += (len as u64 + 1).max(MIN_LINE_COST);
        if self.bytes > self.max_bytes {
            self.truncated = true;
            self.truncation_pending = true;
            self.batch.pop();
            let marker = format!(
                "[processd: output truncated: more than {} bytes; the script keeps running]",
                self.max_bytes
            );
            self.batch
                .push_with(self.seq, time, stream, |t| t.push_str(&marker));
        } else if let Some(p) = progress {
            self.progress = Some(p);
        }
    }

    /// Starts storing the batch once the previous one is stored, and returns: reading goes on
    /// while the database works (process-bench capture: see docs/benchmarks.md).
    async fn flush(&mut self) {
        // The next batch is allocated once at this one's size rather than grown line by line
        // (a quiet process keeps small batches).
        let next = OutputBatch::with_capacity(self.batch.len(), self.batch.text_len());
        let lines = std::mem::replace(&mut self.batch, next);
        let progress = self.progress.take();
        let mark_truncated = std::mem::take(&mut self.truncation_pending);
        if lines.is_empty() && progress.is_none() {
            return;
        }
        let flush = Flush {
            sink: self.sink.clone(),
            process: self.process,
            lines: Arc::new(lines),
            progress,
            mark_truncated,
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

impl<R: ProcessRepository, O: OutputLog> Flush<R, O> {
    /// Stores the batch. A failing store is retried a few times before the batch is given up
    /// (and the loss logged); capture itself never stops reading, so the script never blocks
    /// forever on a full pipe.
    async fn run(self) {
        let Flush {
            sink,
            process: id,
            lines,
            progress,
            mark_truncated,
        } = self;
        let mut delay = Duration::from_millis(100);
        // Each part is done once: a retry does not store the lines again.
        let mut stored = lines.is_empty();
        for attempt in 1..=5 {
            let result: Result<(), BoxError> = async {
                if !stored {
                    let batch = Arc::clone(&lines);
                    blocking(&sink.log, move |o| o.append_batch(id, &batch)).await?;
                    stored = true;
                }
                if progress.is_some() || mark_truncated {
                    blocking(&sink.repo, move |r| {
                        if let Some(p) = progress {
                            r.set_progress(id, p)?;
                        }
                        if mark_truncated {
                            r.set_output_truncated(id)?;
                        }
                        Ok::<_, R::Error>(())
                    })
                    .await?;
                }
                Ok(())
            }
            .await;
            match result {
                Ok(()) => {
                    sink.counter
                        .fetch_add(lines.len() as u64, Ordering::Relaxed);
                    // Followers get the stored batch from memory. Lines are made only for
                    // followers already listening: one who subscribes after this check reads
                    // the batch from the store, which has it by now.
                    if !lines.is_empty() && sink.live.receiver_count() > 0 {
                        let _ = sink.live.send(Arc::new(lines.to_lines()));
                    }
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
