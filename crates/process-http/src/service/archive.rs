//! All files of a process as one zip, written step by step as the client reads it: each step
//! runs briefly on the blocking pool and produces the next chunk, so no thread ever waits on
//! the client. An archive whose client stops reading for `archive_stall_timeout` is dropped
//! (its memory and its place under the archive caps are freed). Memory stays small whatever
//! the total size.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use actix_web::web::{self, Bytes};
use futures_util::Stream;
use process_core::ProcessFile;
use process_datadir::Layout;
use tokio::time::Instant;
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

use crate::limits::CapSlot;

/// Zip bytes sent per chunk.
const CHUNK: usize = 256 * 1024;
/// File bytes read per step at most, so a step stays short even when the data compresses
/// to almost nothing.
const STEP_INPUT: usize = 4 * 1024 * 1024;
const READ: usize = 64 * 1024;

/// Where the zip writer puts its bytes; the writer drains them after each step.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Sink {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A zip entry name that cannot escape the extraction directory: `<filetype>/<name>` with
/// `.`, `..` and empty segments dropped, made unique.
pub fn entry_name(file: &ProcessFile, used: &mut HashSet<String>) -> String {
    let clean: Vec<&str> = file
        .name
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .collect();
    let base = if clean.is_empty() {
        format!("{}/{}", file.filetype, file.id)
    } else {
        format!("{}/{}", file.filetype, clean.join("/"))
    };
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base} ({n})");
        n += 1;
    }
    name
}

/// An archive between two steps.
struct Writer {
    /// `None` once the central directory is written.
    zip: Option<ZipWriter<StreamWriter<Sink>>>,
    out: Sink,
    layout: Layout,
    files: std::vec::IntoIter<ProcessFile>,
    current: Option<std::fs::File>,
    used: HashSet<String>,
    buf: Vec<u8>,
}

impl Writer {
    fn new(layout: Layout, files: Vec<ProcessFile>) -> Self {
        let out = Sink::default();
        Self {
            zip: Some(ZipWriter::new_stream(out.clone())),
            out,
            layout,
            files: files.into_iter(),
            current: None,
            used: HashSet::new(),
            buf: vec![0; READ],
        }
    }

    /// Writes until a chunk is ready, `STEP_INPUT` bytes were read or the archive ends; the
    /// bytes written (possibly none), or `None` once everything was sent.
    fn step(&mut self) -> io::Result<Option<Bytes>> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .large_file(true);
        let mut read = 0;
        while self.out.lock().len() < CHUNK && read < STEP_INPUT {
            let Some(zip) = self.zip.as_mut() else { break };
            if let Some(source) = self.current.as_mut() {
                let n = source.read(&mut self.buf)?;
                if n == 0 {
                    self.current = None;
                } else {
                    zip.write_all(&self.buf[..n])?;
                    read += n;
                }
                continue;
            }
            match self.files.next() {
                Some(f) => {
                    if let Some(source) = open_source(&self.layout, &f) {
                        zip.start_file(entry_name(&f, &mut self.used), options)
                            .map_err(io::Error::other)?;
                        self.current = Some(source);
                    }
                }
                None => {
                    if let Some(zip) = self.zip.take() {
                        zip.finish().map_err(io::Error::other)?;
                    }
                }
            }
        }
        let bytes = std::mem::take(&mut *self.out.lock());
        if bytes.is_empty() && self.zip.is_none() {
            return Ok(None);
        }
        Ok(Some(Bytes::from(bytes)))
    }
}

/// Opens a registered file for the archive; `None` leaves it out.
/// Only what was registered goes in: a symlink or a file of another size in its place is left
/// out like a missing one.
fn open_source(layout: &Layout, f: &ProcessFile) -> Option<std::fs::File> {
    match layout.open_stored(f) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(file = %f.id, path = %f.storage_path, error = %e, "file left out of the archive");
            None
        }
    }
}

enum Phase {
    /// Waiting for the client to take the next chunk.
    Waiting(Box<Writer>),
    /// A step is running.
    Writing,
    Done,
    /// The client stopped reading; the writer was dropped.
    Abandoned,
}

/// What the response stream and its stall watchdog share.
struct Shared {
    phase: Mutex<Phase>,
    /// When the client last asked for a chunk.
    asked: Mutex<Instant>,
    /// The archive's place under the caps, freed when it ends or is abandoned.
    slot: Mutex<Option<CapSlot>>,
}

impl Shared {
    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn asked(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.asked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn release(&self) {
        self.slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// The archive of `files` as a byte stream. `slot` is held until the archive ends, the client
/// goes away, or the client takes no chunk for `stall` (then the stream fails if polled again).
pub fn stream(
    layout: Layout,
    files: Vec<ProcessFile>,
    slot: CapSlot,
    stall: Duration,
) -> impl Stream<Item = io::Result<Bytes>> {
    let shared = Arc::new(Shared {
        phase: Mutex::new(Phase::Waiting(Box::new(Writer::new(layout, files)))),
        asked: Mutex::new(Instant::now()),
        slot: Mutex::new(Some(slot)),
    });
    watch(Arc::downgrade(&shared), stall);
    futures_util::stream::unfold(shared, |shared| async move {
        *shared.asked() = Instant::now();
        loop {
            let taken = std::mem::replace(&mut *shared.phase(), Phase::Writing);
            let mut writer = match taken {
                Phase::Waiting(w) => w,
                Phase::Abandoned => {
                    *shared.phase() = Phase::Done;
                    let stalled = io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading the archive",
                    );
                    return Some((Err(stalled), shared));
                }
                Phase::Done | Phase::Writing => {
                    *shared.phase() = Phase::Done;
                    return None;
                }
            };
            let stepped = web::block(move || {
                let r = writer.step();
                (writer, r)
            })
            .await;
            let (writer, result) = match stepped {
                Ok(done) => done,
                Err(e) => {
                    *shared.phase() = Phase::Done;
                    shared.release();
                    return Some((Err(io::Error::other(e)), shared));
                }
            };
            match result {
                Ok(Some(bytes)) => {
                    *shared.phase() = Phase::Waiting(writer);
                    // An empty chunk could read as the end of a chunked body: step again.
                    if !bytes.is_empty() {
                        return Some((Ok(bytes), shared));
                    }
                }
                Ok(None) => {
                    *shared.phase() = Phase::Done;
                    shared.release();
                    return None;
                }
                Err(e) => {
                    tracing::error!(error = %e, "writing an archive failed");
                    *shared.phase() = Phase::Done;
                    shared.release();
                    return Some((Err(e), shared));
                }
            }
        }
    })
}

/// Drops the archive when its client has asked for nothing for `stall`, so a client that
/// stops reading holds neither memory nor a place under the caps for longer than that.
fn watch(shared: Weak<Shared>, stall: Duration) {
    tokio::spawn(async move {
        loop {
            let Some(s) = shared.upgrade() else { return };
            let due = *s.asked() + stall;
            drop(s);
            tokio::time::sleep_until(due).await;
            let Some(s) = shared.upgrade() else { return };
            let mut phase = s.phase();
            match &*phase {
                Phase::Done | Phase::Abandoned => return,
                Phase::Writing => continue,
                Phase::Waiting(_) => {}
            }
            if s.asked().elapsed() >= stall {
                tracing::info!("an archive download stalled; dropped");
                *phase = Phase::Abandoned;
                drop(phase);
                s.release();
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use process_core::{FileId, ProcessId};

    fn file(name: &str, filetype: &str) -> ProcessFile {
        ProcessFile {
            id: FileId::from_uuid(uuid::Uuid::nil()),
            process_id: ProcessId::new(1).unwrap(),
            name: name.into(),
            filetype: filetype.into(),
            size_bytes: 0,
            md5: String::new(),
            storage_path: String::new(),
            creation_time: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn entry_names_stay_inside() {
        let mut used = HashSet::new();
        assert_eq!(
            entry_name(&file("../../etc/passwd", "inputFile"), &mut used),
            "inputFile/etc/passwd"
        );
        assert_eq!(
            entry_name(&file("/abs/x", "outputFile"), &mut used),
            "outputFile/abs/x"
        );
        assert_eq!(
            entry_name(&file("a.csv", "inputFile"), &mut used),
            "inputFile/a.csv"
        );
        assert_eq!(
            entry_name(&file("a.csv", "inputFile"), &mut used),
            "inputFile/a.csv (2)"
        );
        assert_eq!(
            entry_name(&file("..", "inputFile"), &mut used),
            "inputFile/00000000-0000-0000-0000-000000000000"
        );
    }
}
