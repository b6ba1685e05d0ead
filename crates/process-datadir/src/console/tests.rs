use std::io::Write;

use process_core::{OutputLine, OutputRange, ProcessId, Stream};
use time::OffsetDateTime;

use super::*;

fn setup() -> (tempfile::TempDir, FileLog) {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = Layout::new(dir.path());
    layout.ensure().expect("layout");
    (dir, FileLog::new(layout))
}

fn pid(n: i64) -> ProcessId {
    ProcessId::new(n).expect("id")
}

fn at(s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000 + s).expect("time")
}

fn line(seq: i64) -> OutputLine {
    OutputLine {
        seq,
        time: at(seq),
        stream: if seq % 3 == 0 {
            Stream::Stderr
        } else {
            Stream::Stdout
        },
        line: format!("line {seq}"),
    }
}

fn lines(r: std::ops::RangeInclusive<i64>) -> Vec<OutputLine> {
    r.map(line).collect()
}

fn all(log: &FileLog, id: ProcessId) -> Vec<OutputLine> {
    log.read(id, &OutputRange::default(), u32::MAX)
        .expect("read")
        .expect("a log")
}

#[test]
fn appends_in_batches_and_reads_by_seq_and_time() {
    let (_dir, log) = setup();
    let id = pid(1);
    assert_eq!(
        log.read(id, &OutputRange::default(), 10).expect("read"),
        None
    );
    assert_eq!(log.last_seq(id).expect("seq"), None);
    for b in 0..10 {
        log.append(id, &lines(b * 100 + 1..=b * 100 + 100))
            .expect("append");
    }
    assert_eq!(all(&log, id), lines(1..=1000));
    assert_eq!(log.last_seq(id).expect("seq"), Some(1000));
    let page = log.read(id, &OutputRange::after(990), 5).expect("read");
    assert_eq!(page, Some(lines(991..=995)));
    let page = log.read(id, &OutputRange::after(250), 0).expect("read");
    assert_eq!(page, Some(Vec::new()));
    let between = OutputRange {
        after_seq: 0,
        from_time: Some(at(450)),
        to_time: Some(at(460)),
    };
    assert_eq!(
        log.read(id, &between, 100).expect("read"),
        Some(lines(450..=460))
    );
    let late = OutputRange {
        from_time: Some(at(5000)),
        ..OutputRange::default()
    };
    assert_eq!(log.read(id, &late, 100).expect("read"), Some(Vec::new()));
}

#[test]
fn a_retried_batch_is_stored_once_and_a_gap_is_refused() {
    let (_dir, log) = setup();
    let id = pid(2);
    log.append(id, &lines(1..=3)).expect("append");
    log.append(id, &lines(2..=5)).expect("retry with more");
    log.append(id, &lines(1..=5)).expect("whole retry");
    assert!(log.append(id, &lines(7..=8)).is_err(), "a gap");
    assert_eq!(all(&log, id), lines(1..=5));
}

#[test]
fn a_torn_last_record_is_dropped_and_appending_goes_on() {
    let (_dir, log) = setup();
    let id = pid(3);
    log.append(id, &lines(1..=4)).expect("append");
    let path = log.log_path(id);
    let whole = fs::metadata(&path).expect("meta").len();
    // Half a record, as a kill -9 during a write leaves it, then plain garbage.
    let mut next = Vec::new();
    record::encode(&(&line(5)).into(), &mut next);
    let mut f = OpenOptions::new().append(true).open(&path).expect("open");
    f.write_all(&next[..next.len() / 2]).expect("write");
    assert_eq!(all(&log, id), lines(1..=4), "the torn record is not shown");
    f.write_all(b"\xff\xfe garbage \x00\x01").expect("write");
    assert_eq!(all(&log, id), lines(1..=4));
    assert_eq!(log.last_seq(id).expect("seq"), Some(4));
    log.append(id, &lines(5..=6))
        .expect("append after the tear");
    assert_eq!(all(&log, id), lines(1..=6));
    assert!(fs::metadata(&path).expect("meta").len() > whole);
}

#[test]
fn lines_whose_index_entry_was_lost_are_kept_and_indexed() {
    let (_dir, log) = setup();
    let id = pid(4);
    log.append(id, &lines(1..=3)).expect("append");
    log.append(id, &lines(4..=6)).expect("append");
    // The crash came between the log write and the index write of the second batch.
    let idx = log.index_path(id);
    let f = OpenOptions::new().write(true).open(&idx).expect("open");
    f.set_len(ENTRY as u64 + 7).expect("tear the index");
    assert_eq!(log.last_seq(id).expect("seq"), Some(6));
    assert_eq!(
        log.read(id, &OutputRange::after(4), 10).expect("read"),
        Some(lines(5..=6))
    );
    log.append(id, &lines(7..=7)).expect("append");
    assert_eq!(fs::metadata(&idx).expect("meta").len(), 3 * ENTRY as u64);
    assert_eq!(all(&log, id), lines(1..=7));
}

#[test]
fn a_batch_is_stored_like_its_lines() {
    let (_dir, log) = setup();
    let id = pid(6);
    let mut batch = process_core::OutputBatch::default();
    for l in lines(1..=50) {
        batch.push_with(l.seq, l.time, l.stream, |s| s.push_str(&l.line));
    }
    log.append_batch(id, &batch).expect("append");
    log.append(id, &lines(51..=52)).expect("append");
    assert_eq!(all(&log, id), lines(1..=52));
}

#[test]
fn remove_deletes_log_and_index() {
    let (_dir, log) = setup();
    let id = pid(5);
    log.sync(id)
        .expect("a process without output has nothing to sync");
    assert!(!log.exists(id));
    log.append(id, &lines(1..=2)).expect("append");
    log.sync(id).expect("sync");
    log.remove(id).expect("remove");
    assert!(!log.exists(id));
    assert!(!log.index_path(id).exists());
    log.remove(id).expect("removing twice is fine");
}
