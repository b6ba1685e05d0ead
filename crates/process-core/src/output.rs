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

/// One line as a view: of an [`OutputLine`] or of an [`OutputBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRef<'a> {
    pub seq: i64,
    pub time: OffsetDateTime,
    pub stream: Stream,
    pub line: &'a str,
}

impl<'a> From<&'a OutputLine> for LineRef<'a> {
    fn from(l: &'a OutputLine) -> Self {
        Self {
            seq: l.seq,
            time: l.time,
            stream: l.stream,
            line: &l.line,
        }
    }
}

/// Lines captured together, their texts in one buffer: what capture hands the output log,
/// without a string per line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputBatch {
    text: String,
    lines: Vec<BatchLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchLine {
    seq: i64,
    time: OffsetDateTime,
    stream: Stream,
    /// Where the line's text ends in `text` (it starts where the previous one ended).
    end: usize,
}

impl OutputBatch {
    pub fn with_capacity(lines: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            lines: Vec::with_capacity(lines),
        }
    }

    /// Adds a line whose text the caller appends to the buffer it is given.
    pub fn push_with(
        &mut self,
        seq: i64,
        time: OffsetDateTime,
        stream: Stream,
        write: impl FnOnce(&mut String),
    ) -> &str {
        let start = self.text.len();
        write(&mut self.text);
        self.lines.push(BatchLine {
            seq,
            time,
            stream,
            end: self.text.len(),
        });
        &self.text[start..]
    }

    /// Takes the last line back (its text too).
    pub fn pop(&mut self) {
        if self.lines.pop().is_some() {
            let end = self.lines.last().map_or(0, |l| l.end);
            self.text.truncate(end);
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Bytes of text held.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = LineRef<'_>> + '_ {
        let mut start = 0;
        self.lines.iter().map(move |l| {
            let line = &self.text[start..l.end];
            start = l.end;
            LineRef {
                seq: l.seq,
                time: l.time,
                stream: l.stream,
                line,
            }
        })
    }

    /// The lines as owned lines.
    pub fn to_lines(&self) -> Vec<OutputLine> {
        self.iter()
            .map(|l| OutputLine {
                seq: l.seq,
                time: l.time,
                stream: l.stream,
                line: l.line.to_owned(),
            })
            .collect()
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
    fn a_batch_holds_its_lines_in_one_buffer() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let mut b = OutputBatch::with_capacity(4, 64);
        assert_eq!(
            b.push_with(1, t, Stream::Stdout, |s| s.push_str("one")),
            "one"
        );
        b.push_with(2, t, Stream::Stderr, |_| {});
        b.push_with(3, t, Stream::Stdout, |s| s.push_str("three"));
        b.pop();
        b.push_with(3, t, Stream::Stdout, |s| s.push_str("33"));
        let lines = b.to_lines();
        let texts: Vec<&str> = lines.iter().map(|l| l.line.as_str()).collect();
        assert_eq!(texts, ["one", "", "33"]);
        assert_eq!((b.len(), b.text_len()), (3, 5));
        assert_eq!(lines[1].stream, Stream::Stderr);
        assert_eq!(b.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2, 3]);
    }

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
