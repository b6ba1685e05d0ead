//! A process's console output, from the output log: the whole log as text (streamed page by
//! page), pages of timestamped lines, or a live Server-Sent Events feed.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web::{self, Bytes};
use futures_util::Stream;
use process_core::{Caller, OutputLine, OutputRange, Process, ProcessId};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::error::ApiError;
use crate::hal::timestamp;
use crate::limits::{CallerKey, CapKey, CapSlot, ClientAddr};
use crate::service::watch::Seen;
use crate::state::AppState;

/// Lines read from the store per page.
const PAGE_LINES: u32 = 5_000;
/// How often an SSE follower looks again when no local notification can come (the process
/// runs on another node, or has not started).
const FOLLOW_POLL: Duration = Duration::from_secs(1);

/// One console line, as the event stream sends it (its `seq` is the event id).
#[derive(Serialize, utoipa::ToSchema)]
pub struct LineResource<'a> {
    /// When the line was read (RFC 3339).
    pub time: String,
    pub line: &'a str,
    /// `stdout` or `stderr`.
    pub stream: &'static str,
}

impl<'a> LineResource<'a> {
    fn of(l: &'a OutputLine) -> Self {
        Self {
            time: timestamp(l.time),
            line: &l.line,
            stream: l.stream.as_str(),
        }
    }
}

/// The content type of the console text.
pub const OUTPUT_TEXT: &str = "text/plain; charset=utf-8";

struct Pager {
    state: web::Data<AppState>,
    id: ProcessId,
    range: OutputRange,
    done: bool,
}

/// The stored output in `range` as text, read page by page while it is sent.
pub fn stored(
    state: web::Data<AppState>,
    id: ProcessId,
    range: OutputRange,
) -> impl Stream<Item = Result<Bytes, ApiError>> {
    let pager = Pager {
        state,
        id,
        range,
        done: false,
    };
    futures_util::stream::unfold(pager, |mut p| async move {
        if p.done {
            return None;
        }
        let (id, range) = (p.id, p.range);
        let lines = match p
            .state
            .log(move |o| o.read_output(id, &range, PAGE_LINES))
            .await
        {
            Ok(l) => l,
            Err(e) => {
                p.done = true;
                return Some((Err(e), p));
            }
        };
        let out = text(&lines);
        match lines.last() {
            Some(last) if lines.len() == PAGE_LINES as usize => p.range.after_seq = last.seq,
            _ => p.done = true,
        }
        Some((Ok(Bytes::from(out)), p))
    })
}

/// The text form of console lines, as `/output` and the log bitstream give them: each line
/// and a newline.
pub fn text(lines: &[OutputLine]) -> String {
    let mut out = String::with_capacity(lines.iter().map(|l| l.line.len() + 1).sum());
    for l in lines {
        out.push_str(&l.line);
        out.push('\n');
    }
    out
}

/// One page of `/output/lines`: up to `size` lines of `process` in `range`, and whether
/// they are the last (the process had ended before they were read, and no more remain).
pub async fn lines(
    state: &AppState,
    process: &Process,
    range: OutputRange,
    size: u32,
) -> Result<(Vec<OutputLine>, bool), ApiError> {
    // The status was read before the lines: an ended process has stored its every line.
    let ended = process.status().is_terminal();
    let id = process.id;
    let lines = state.log(move |o| o.read_output(id, &range, size)).await?;
    let complete = ended && lines.len() < size as usize;
    Ok((lines, complete))
}

struct Follower {
    state: web::Data<AppState>,
    id: ProcessId,
    after: i64,
    ended: bool,
    /// Its places under the follower caps, held while the feed lasts.
    _slots: FollowSlots,
    /// When something was last sent; a quiet feed gets a comment every `sse_heartbeat`.
    sent: tokio::time::Instant,
    /// Stored batches straight from the capture, while the process runs on this node.
    live: Option<broadcast::Receiver<Arc<Vec<OutputLine>>>>,
    /// Whether everything stored before `live` was subscribed has been sent.
    caught_up: bool,
    /// The process was seen finished once; the next empty read ends the feed.
    saw_finished: bool,
    /// The shared poller of the process, while it cannot be fed from memory.
    watch: Option<watch::Receiver<Option<Seen>>>,
}

/// A comment line: keeps proxies from closing a quiet stream.
fn keep_alive() -> Bytes {
    Bytes::from_static(b": keep-alive\n\n")
}

fn events(lines: &[OutputLine]) -> Bytes {
    let mut out = String::new();
    for l in lines {
        let data = serde_json::to_string(&LineResource::of(l)).unwrap_or_default();
        out.push_str(&format!("id: {}\nevent: line\ndata: {data}\n\n", l.seq));
    }
    Bytes::from(out)
}

/// A live feed's places under the caps: one for its process, one for its caller.
pub struct FollowSlots {
    _process: CapSlot,
    _caller: CapSlot,
}

/// Takes a place for a new live feed of process `id`; 429 when the process, or the caller
/// (`addr` names an anonymous one), has as many feeds as allowed. Each feed that cannot be
/// fed from this node's capture polls the database, so their number is bounded.
pub fn follow_slots(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
    id: ProcessId,
) -> Result<FollowSlots, ApiError> {
    let refused = |message: String| ApiError::TooManyConcurrent {
        message,
        retry_after: Duration::from_secs(5),
    };
    let process = state
        .followers
        .per_process
        .try_acquire(CapKey::Process(id.get()))
        .map_err(|_| {
            refused(format!(
                "process {id} has {} live followers already",
                state.config.max_followers_per_process
            ))
        })?;
    let caller = state
        .followers
        .per_caller
        .try_acquire(CapKey::Caller(CallerKey::of(caller, addr)))
        .map_err(|_| {
            refused(format!(
                "at most {} live followers per caller at once",
                state.config.max_followers_per_caller
            ))
        })?;
    Ok(FollowSlots {
        _process: process,
        _caller: caller,
    })
}

/// What the shared poller of a live feed sees of process `id`.
async fn look(state: web::Data<AppState>, id: ProcessId) -> Result<Seen, ApiError> {
    let last_seq = state.log(move |o| o.last_output_seq(id)).await?;
    let process = state.db(move |s| s.get_process(id)).await?;
    let finished = process.is_none_or(|p| p.status().is_terminal());
    Ok(Seen { last_seq, finished })
}

/// A live feed: the lines after `after` (the `Last-Event-ID`), new lines as they are stored,
/// then an `end` event with the final status. History comes from the store; once a follower
/// has caught up it takes new batches from the capture's broadcast, so many followers of one
/// process cost the database nothing more (one that lags too far reads the store again).
pub fn follow(
    state: web::Data<AppState>,
    id: ProcessId,
    after: i64,
    slots: FollowSlots,
) -> impl Stream<Item = Result<Bytes, ApiError>> {
    let f = Follower {
        state,
        id,
        after,
        _slots: slots,
        sent: tokio::time::Instant::now(),
        ended: false,
        live: None,
        caught_up: false,
        saw_finished: false,
        watch: None,
    };
    futures_util::stream::unfold(f, |mut f| async move {
        if f.ended {
            return None;
        }
        // Asked for the next piece: the last one went out.
        f.sent = tokio::time::Instant::now();
        let heartbeat = f.state.config.sse_heartbeat;
        loop {
            // Subscribe before reading the store, so no batch falls between the two.
            if f.live.is_none() {
                f.live = f.state.runner.follow(f.id);
            }
            if !f.caught_up || f.live.is_none() {
                let (id, after) = (f.id, f.after);
                let range = OutputRange::after(after);
                let lines = match f.state.log(move |o| o.read_output(id, &range, 1_000)).await {
                    Ok(l) => l,
                    Err(e) => {
                        f.ended = true;
                        return Some((Err(e), f));
                    }
                };
                f.caught_up = lines.len() < 1_000;
                if let Some(last) = lines.last() {
                    f.after = last.seq;
                    return Some((Ok(events(&lines)), f));
                }
            }
            match f.live.as_mut() {
                Some(rx) => match tokio::time::timeout(heartbeat, rx.recv()).await {
                    Ok(Ok(batch)) => {
                        let fresh: Vec<OutputLine> =
                            batch.iter().filter(|l| l.seq > f.after).cloned().collect();
                        if let Some(last) = fresh.last() {
                            f.after = last.seq;
                            return Some((Ok(events(&fresh)), f));
                        }
                    }
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => f.caught_up = false,
                    Ok(Err(broadcast::error::RecvError::Closed)) => {
                        // The run is over and recorded: read the rest, then the end.
                        f.live = None;
                        f.caught_up = false;
                    }
                    // A comment line keeps proxies from closing a quiet stream.
                    Err(_) => return Some((Ok(keep_alive()), f)),
                },
                None => {
                    // Not fed from memory: wait for the shared poller to see a new line or the
                    // end, with a comment every heartbeat (which also shows a gone client).
                    let (state, id) = (f.state.clone(), f.id);
                    let rx = f.watch.get_or_insert_with(|| {
                        let looker = state.clone();
                        state.watchers.watch(id, move || look(looker.clone(), id))
                    });
                    let seen = *rx.borrow_and_update();
                    match seen {
                        Some(seen) if seen.finished => {}
                        Some(seen) if seen.last_seq > f.after => {
                            f.caught_up = false;
                            continue;
                        }
                        _ => {
                            let quiet = heartbeat.saturating_sub(f.sent.elapsed());
                            match tokio::time::timeout(quiet, rx.changed()).await {
                                Ok(Ok(())) => continue,
                                // The poller stopped (the process ended or vanished, or it
                                // was replaced): look again through a new one.
                                Ok(Err(_)) => {
                                    f.watch = None;
                                    f.caught_up = false;
                                    tokio::time::sleep(FOLLOW_POLL).await;
                                    continue;
                                }
                                Err(_) => return Some((Ok(keep_alive()), f)),
                            }
                        }
                    }
                    let id = f.id;
                    let process: Option<Process> =
                        match f.state.db(move |s| s.get_process(id)).await {
                            Ok(p) => p,
                            Err(e) => {
                                f.ended = true;
                                return Some((Err(e), f));
                            }
                        };
                    let finished = process.as_ref().is_none_or(|p| p.status().is_terminal());
                    if finished && !f.saw_finished {
                        // Lines stored between the read above and this status (the closing
                        // note) come first: read once more before the end.
                        f.saw_finished = true;
                        f.caught_up = false;
                        continue;
                    }
                    if finished {
                        f.ended = true;
                        let data = serde_json::json!({
                            "processStatus": process.as_ref().map(|p| p.status().as_str()),
                            "statusReason": process.as_ref().and_then(|p| p.status_reason.map(|r| r.as_str())),
                            "exitCode": process.as_ref().and_then(|p| p.exit_code),
                        });
                        return Some((Ok(Bytes::from(format!("event: end\ndata: {data}\n\n"))), f));
                    }
                    // The poller saw an end the store no longer shows (a stop raced it): wait
                    // for the next look.
                    tokio::time::sleep(FOLLOW_POLL).await;
                }
            }
        }
    })
}
