use process_core::OutputRange;
use process_core::{OutputLine, ProcessId, Stream};
use process_store::Store;
use time::{Duration, OffsetDateTime};

use crate::{at, create, each_backend, new_process};

const LINES: i64 = 20_000;

/// Line `seq` was read `seq` milliseconds after `at(0)`.
fn time_of(seq: i64) -> OffsetDateTime {
    at(0) + Duration::milliseconds(seq)
}

fn line(seq: i64) -> OutputLine {
    OutputLine {
        seq,
        time: time_of(seq),
        stream: if seq % 3 == 0 {
            Stream::Stderr
        } else {
            Stream::Stdout
        },
        line: match seq % 4 {
            0 => format!("line {seq}"),
            1 => format!("\u{e9}t\u{e9} \u{1f600}\t{seq} 'single' \"double\" \\ %"),
            2 => String::new(),
            _ => format!("{seq} {}", "x".repeat(300)),
        },
    }
}

fn read_all(store: &Store, id: ProcessId, mut range: OutputRange, limit: u32) -> Vec<OutputLine> {
    let mut all = Vec::new();
    loop {
        let page = store.read_output(id, range, limit).unwrap();
        assert!(page.len() <= limit as usize);
        let Some(last) = page.last() else {
            return all;
        };
        range.after_seq = last.seq;
        all.extend(page);
    }
}

#[test]
fn twenty_thousand_lines_read_back_in_order() {
    each_backend(|store| {
        let p = create(store, &new_process("s", at(0)));
        let other = create(store, &new_process("s", at(0)));
        let written: Vec<OutputLine> = (1..=LINES).map(line).collect();
        assert_eq!(store.last_output_seq(p.id).unwrap(), 0);
        for (i, batch) in written.chunks(1_000).enumerate() {
            store.append_output(p.id, batch).unwrap();
            assert_eq!(store.last_output_seq(p.id).unwrap(), 1_000 * (i as i64 + 1));
        }
        // Another process's output, written in between, stays apart.
        store.append_output(other.id, &written[..10]).unwrap();
        store.append_output(p.id, &[]).unwrap();

        // One big read.
        let all = store
            .read_output(p.id, OutputRange::default(), 50_000)
            .unwrap();
        assert_eq!(all.len(), written.len());
        assert!(all == written, "lines differ from what was written");

        // Paging with after_seq.
        let paged = read_all(store, p.id, OutputRange::default(), 4_096);
        assert!(paged == written, "paged lines differ");
        let tail = store
            .read_output(
                p.id,
                OutputRange {
                    after_seq: LINES - 3,
                    ..OutputRange::default()
                },
                100,
            )
            .unwrap();
        assert_eq!(tail, written[(LINES - 3) as usize..].to_vec());
        assert!(store
            .read_output(
                p.id,
                OutputRange {
                    after_seq: LINES,
                    ..OutputRange::default()
                },
                100
            )
            .unwrap()
            .is_empty());
        assert!(store
            .read_output(p.id, OutputRange::default(), 0)
            .unwrap()
            .is_empty());

        assert_eq!(
            store
                .read_output(other.id, OutputRange::default(), 100)
                .unwrap(),
            written[..10].to_vec()
        );
        assert_eq!(store.last_output_seq(p.id).unwrap(), LINES);
        assert_eq!(store.last_output_seq(other.id).unwrap(), 10);
    });
}

#[test]
fn output_time_ranges_are_inclusive() {
    each_backend(|store| {
        let p = create(store, &new_process("s", at(0)));
        let written: Vec<OutputLine> = (1..=LINES).map(line).collect();
        for batch in written.chunks(2_500) {
            store.append_output(p.id, batch).unwrap();
        }
        let slice = |from: i64, to: i64| written[(from - 1) as usize..to as usize].to_vec();

        let range = OutputRange {
            after_seq: 0,
            from_time: Some(time_of(5_000)),
            to_time: Some(time_of(5_999)),
        };
        assert_eq!(read_all(store, p.id, range, 300), slice(5_000, 5_999));

        // Only a lower bound, only an upper bound.
        let from = OutputRange {
            from_time: Some(time_of(19_990)),
            ..OutputRange::default()
        };
        assert_eq!(
            store.read_output(p.id, from, 100).unwrap(),
            slice(19_990, LINES)
        );
        let to = OutputRange {
            to_time: Some(time_of(7)),
            ..OutputRange::default()
        };
        assert_eq!(store.read_output(p.id, to, 100).unwrap(), slice(1, 7));

        // Times between two lines: microseconds count.
        let between = OutputRange {
            from_time: Some(time_of(100) + Duration::microseconds(1)),
            to_time: Some(time_of(103) - Duration::microseconds(1)),
            ..OutputRange::default()
        };
        assert_eq!(
            store.read_output(p.id, between, 100).unwrap(),
            slice(101, 102)
        );

        // after_seq and a time range together.
        let both = OutputRange {
            after_seq: 5_500,
            ..range
        };
        assert_eq!(read_all(store, p.id, both, 128), slice(5_501, 5_999));

        // A range with nothing in it.
        let empty = OutputRange {
            from_time: Some(time_of(LINES + 1)),
            ..OutputRange::default()
        };
        assert!(store.read_output(p.id, empty, 100).unwrap().is_empty());
    });
}

#[test]
fn a_batch_is_appended_whole_or_not_at_all() {
    each_backend(|store| {
        let p = create(store, &new_process("s", at(0)));
        store.append_output(p.id, &[line(1), line(2)]).unwrap();
        // Line 2 already exists: the whole batch fails, including line 3 before it.
        assert!(store
            .append_output(p.id, &[line(3), line(2), line(4)])
            .is_err());
        // The same with a batch longer than one INSERT statement.
        let big: Vec<OutputLine> = (3..=4_500).chain([1]).map(line).collect();
        assert!(store.append_output(p.id, &big).is_err());
        assert_eq!(
            store
                .read_output(p.id, OutputRange::default(), 100)
                .unwrap(),
            vec![line(1), line(2)]
        );
        // Output of a process that does not exist is refused.
        let gone = ProcessId::new(p.id.get() + 100).unwrap();
        assert!(store.append_output(gone, &[line(1)]).is_err());
        assert_eq!(store.last_output_seq(p.id).unwrap(), 2);
        assert_eq!(store.last_output_seq(gone).unwrap(), 0);
        // And the store still works.
        store.append_output(p.id, &[line(3)]).unwrap();
        assert_eq!(
            store
                .read_output(p.id, OutputRange::default(), 100)
                .unwrap()
                .len(),
            3
        );
    });
}

#[test]
fn a_log_stored_as_rows_stays_readable_and_moves_into_a_file_on_its_next_line() {
    each_backend(|store| {
        let p = create(store, &new_process("s", at(0)));
        let old: Vec<OutputLine> = (1..=25).map(line).collect();
        store.append_output_rows(p.id, &old).unwrap();
        let log = store.layout().console_log_path(p.id);
        assert!(!log.exists());
        assert_eq!(read_all(store, p.id, OutputRange::default(), 7), old);
        assert_eq!(store.last_output_seq(p.id).unwrap(), 25);
        store.append_output(p.id, &[line(26)]).unwrap();
        assert!(log.exists(), "the log is a file now");
        let all: Vec<OutputLine> = (1..=26).map(line).collect();
        assert_eq!(read_all(store, p.id, OutputRange::default(), 10), all);
        store.remove_output(p.id).unwrap();
        assert!(!log.exists());
        assert!(store
            .read_output(p.id, OutputRange::default(), 100)
            .unwrap()
            .is_empty());
    });
}
