//! Captured console output.

use time::OffsetDateTime;

use crate::status::Stream;

/// Longest line kept; the rest of a longer line is cut and marked, so one runaway line
/// cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// One line a script wrote, with the time it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Position in the process's output, from 1, in capture order.
    pub seq: i64,
    pub time: OffsetDateTime,
    pub stream: Stream,
    pub line: String,
}

impl OutputLine {
    /// A line processd itself writes into a process's log: on stderr, marked as its own.
    pub fn service(seq: i64, time: OffsetDateTime, text: &str) -> Self {
        Self {
            seq,
            time,
            stream: Stream::Stderr,
            line: format!("[processd: {text}]"),
        }
    }
}

/// Why a waiter failed when the process it waited on was deleted (its closing line).
pub fn dependency_deleted(dependency: crate::ids::ProcessId) -> String {
    format!("not run: dependency {dependency} was deleted")
}

/// Which stored lines to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputRange {
    /// Only lines with a sequence number above this.
    pub after_seq: i64,
    /// Only lines read at or after this time.
    pub from_time: Option<OffsetDateTime>,
    /// Only lines read at or before this time.
    pub to_time: Option<OffsetDateTime>,
}

impl OutputRange {
    /// Every line after `seq`.
    pub fn after(seq: i64) -> Self {
        Self {
            after_seq: seq,
            ..Self::default()
        }
    }

    /// Whether `line` falls in the range.
    pub fn contains(&self, line: &OutputLine) -> bool {
        line.seq > self.after_seq
            && self.from_time.is_none_or(|t| line.time >= t)
            && self.to_time.is_none_or(|t| line.time <= t)
    }
}

/// The percentage set by a line of the exact form `::progress::N` with N in 0..=100.
pub fn parse_progress(line: &str) -> Option<u8> {
    let n = line.strip_prefix("::progress::")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.len() > 3 {
        return None;
    }
    n.parse::<u8>().ok().filter(|n| *n <= 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines() {
        let cases = [
            ("::progress::0", Some(0)),
            ("::progress::42", Some(42)),
            ("::progress::100", Some(100)),
            ("::progress::101", None),
            ("::progress::", None),
            ("::progress::+5", None),
            ("::progress::5 ", None),
            (" ::progress::5", None),
            ("::progress::0050", None),
            ("progress 5", None),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_progress(line), expected, "{line:?}");
        }
    }
}
