//! Console logs as append-only files: `logs/<id>.log` holds the records (see [`record`]),
//! `logs/<id>.idx` one index entry per appended batch (see [`index`]). Both live outside the
//! run directories, so a script cannot touch its own log.
//!
//! Nothing is kept in memory between calls: any node that sees the data directory can read a
//! log, and an append first makes the file consistent (drops a torn tail, indexes a batch
//! whose entry a crash lost), so a restarted or another node can go on appending. Appends
//! take an exclusive lock on the log file; reads take none (a record being written fails its
//! checksum and is where that read stops).

mod index;
mod record;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;

use process_core::{LineRef, OutputBatch, OutputLine, OutputRange, ProcessId};

use crate::Layout;
use index::{Entry, ENTRY};
use record::HEADER;

/// Read buffer for scans of a log.
const READ_BUFFER: usize = 64 * 1024;

/// The console logs under one data directory.
#[derive(Debug, Clone)]
pub struct FileLog {
    layout: Layout,
}

/// Where an append can go on: the consistent end of the log.
struct Tail {
    end: u64,
    last_seq: i64,
    max_time: i64,
    entries: u64,
}

impl FileLog {
    pub fn new(layout: Layout) -> Self {
        Self { layout }
    }

    fn log_path(&self, id: ProcessId) -> PathBuf {
        self.layout.console_log_path(id)
    }

    fn index_path(&self, id: ProcessId) -> PathBuf {
        self.log_path(id).with_extension("idx")
    }

    /// Whether the process has a log file.
    pub fn exists(&self, id: ProcessId) -> bool {
        self.log_path(id).exists()
    }

    /// Appends lines numbered from the last stored one + 1 with one write. Lines already
    /// stored (a retried batch) are skipped; a gap is refused.
    pub fn append(&self, id: ProcessId, lines: &[OutputLine]) -> io::Result<()> {
        let refs: Vec<LineRef<'_>> = lines.iter().map(LineRef::from).collect();
        self.append_refs(id, &refs)
    }

    /// [`FileLog::append`] for a batch whose texts share one buffer.
    pub fn append_batch(&self, id: ProcessId, batch: &OutputBatch) -> io::Result<()> {
        let refs: Vec<LineRef<'_>> = batch.iter().collect();
        self.append_refs(id, &refs)
    }

    fn append_refs(&self, id: ProcessId, lines: &[LineRef<'_>]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let log = open_rw(&self.log_path(id))?;
        log.lock()?;
        let idx = open_rw(&self.index_path(id))?;
        let tail = repair(&log, &idx)?;
        let stored = lines.iter().take_while(|l| l.seq <= tail.last_seq).count();
        let fresh = &lines[stored..];
        let Some(first) = fresh.first() else {
            return Ok(());
        };
        let follows =
            first.seq == tail.last_seq + 1 && lines.windows(2).all(|w| w[1].seq == w[0].seq + 1);
        if !follows {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "output lines of process {id} must follow line {} without gaps",
                    tail.last_seq
                ),
            ));
        }
        let mut buf = Vec::with_capacity(fresh.iter().map(|l| l.line.len() + 25).sum());
        let mut max_time = tail.max_time;
        for l in fresh {
            record::encode(l, &mut buf);
            max_time = max_time.max(record::micros(l.time));
        }
        log.write_all_at(&buf, tail.end)?;
        let entry = Entry {
            first_seq: first.seq,
            last_seq: tail.last_seq + fresh.len() as i64,
            offset: tail.end,
            end: tail.end + buf.len() as u64,
            max_time,
        };
        idx.write_all_at(&entry.encode(), tail.entries * ENTRY as u64)
    }

    /// Up to `limit` lines in `range`; `None` when the process has no log file.
    pub fn read(
        &self,
        id: ProcessId,
        range: &OutputRange,
        limit: u32,
    ) -> io::Result<Option<Vec<OutputLine>>> {
        let Some(log) = open_existing(&self.log_path(id))? else {
            return Ok(None);
        };
        let mut lines = Vec::new();
        if limit == 0 {
            return Ok(Some(lines));
        }
        let log_len = log.metadata()?.len();
        let entries = self.entries(id, log_len)?;
        let start = index::seek(
            &entries,
            range.after_seq,
            range.from_time.map(record::micros),
        );
        let mut scan = Scan::new(log, start)?;
        while let Some(l) = scan.next_line()? {
            if range.contains(&l) {
                lines.push(l);
                if lines.len() >= limit as usize {
                    break;
                }
            }
        }
        Ok(Some(lines))
    }

    /// The sequence number of the last stored line; `None` when there is no log file.
    pub fn last_seq(&self, id: ProcessId) -> io::Result<Option<i64>> {
        let Some(log) = open_existing(&self.log_path(id))? else {
            return Ok(None);
        };
        let log_len = log.metadata()?.len();
        let entries = self.entries(id, log_len)?;
        let (mut last, start) = entries.last().map_or((0, 0), |e| (e.last_seq, e.end));
        // Lines whose index entry a crash lost are still lines.
        let mut scan = Scan::new(log, start)?;
        while let Some(l) = scan.next_line()? {
            last = l.seq;
        }
        Ok(Some(last))
    }

    /// Makes the log durable (data and index, with their sizes, and their names): called
    /// before a run's final status is recorded.
    pub fn sync(&self, id: ProcessId) -> io::Result<()> {
        // A run that wrote nothing has no log, and nothing to wait for.
        let Some(log) = open_existing(&self.log_path(id))? else {
            return Ok(());
        };
        log.sync_data()?;
        if let Some(idx) = open_existing(&self.index_path(id))? {
            idx.sync_data()?;
        }
        File::open(self.layout.console_logs_dir())?.sync_all()
    }

    /// Removes a process's log; a missing one is fine.
    pub fn remove(&self, id: ProcessId) -> io::Result<()> {
        for path in [self.log_path(id), self.index_path(id)] {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn entries(&self, id: ProcessId, log_len: u64) -> io::Result<Vec<Entry>> {
        let bytes = match fs::read(self.index_path(id)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(index::entries(&bytes, log_len))
    }
}

fn open_rw(path: &std::path::Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

fn open_existing(path: &std::path::Path) -> io::Result<Option<File>> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Makes log and index agree before an append (the caller holds the log's lock): index
/// entries past the end of the log are dropped, whole records after the last entry (a crash
/// between the two writes) get their entry, and a torn record at the end is cut off.
fn repair(log: &File, idx: &File) -> io::Result<Tail> {
    let log_len = log.metadata()?.len();
    let idx_len = idx.metadata()?.len();
    let mut n = idx_len / ENTRY as u64;
    let mut last: Option<Entry> = None;
    while n > 0 {
        let mut b = [0u8; ENTRY];
        idx.read_exact_at(&mut b, (n - 1) * ENTRY as u64)?;
        match Entry::decode(&b) {
            Some(e) if e.end <= log_len && e.offset < e.end => {
                last = Some(e);
                break;
            }
            _ => n -= 1,
        }
    }
    if idx_len != n * ENTRY as u64 {
        idx.set_len(n * ENTRY as u64)?;
    }
    let mut tail = Tail {
        end: last.map_or(0, |e| e.end),
        last_seq: last.map_or(0, |e| e.last_seq),
        max_time: last.map_or(i64::MIN, |e| e.max_time),
        entries: n,
    };
    if log_len == tail.end {
        return Ok(tail);
    }
    let mut scan = Scan::new(log.try_clone()?, tail.end)?;
    let mut first_seq = None;
    while let Some(l) = scan.next_line()? {
        first_seq.get_or_insert(l.seq);
        tail.last_seq = l.seq;
        tail.max_time = tail.max_time.max(record::micros(l.time));
    }
    if let Some(first_seq) = first_seq {
        let entry = Entry {
            first_seq,
            last_seq: tail.last_seq,
            offset: tail.end,
            end: scan.offset,
            max_time: tail.max_time,
        };
        idx.write_all_at(&entry.encode(), n * ENTRY as u64)?;
        tail.entries += 1;
        tail.end = scan.offset;
    }
    if log_len > tail.end {
        tracing::warn!(
            bytes = log_len - tail.end,
            "dropping a torn record at the end of a console log"
        );
        log.set_len(tail.end)?;
    }
    Ok(tail)
}

/// Reads records from an offset until the first one that is missing, torn or damaged.
struct Scan {
    reader: BufReader<File>,
    /// The end of the last whole record read.
    offset: u64,
    body: Vec<u8>,
}

impl Scan {
    fn new(mut file: File, offset: u64) -> io::Result<Self> {
        file.seek(SeekFrom::Start(offset))?;
        Ok(Self {
            reader: BufReader::with_capacity(READ_BUFFER, file),
            offset,
            body: Vec::new(),
        })
    }

    fn next_line(&mut self) -> io::Result<Option<OutputLine>> {
        let mut header = [0u8; HEADER];
        if !read_full(&mut self.reader, &mut header)? {
            return Ok(None);
        }
        let Some(len) = record::body_len(&header) else {
            return Ok(None);
        };
        self.body.resize(len, 0);
        if !read_full(&mut self.reader, &mut self.body)? {
            return Ok(None);
        }
        let Some(line) = record::decode(&header, &self.body) else {
            return Ok(None);
        };
        self.offset += (HEADER + len) as u64;
        Ok(Some(line))
    }
}

/// Fills `buf`; `false` when the file ends first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
