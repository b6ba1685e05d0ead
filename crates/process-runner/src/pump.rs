//! The line pump every executor uses: reads a stream (a pipe, a growing file) and sends it
//! line by line with the time each line was read, cutting lines longer than MAX_LINE_BYTES
//! (the rest of such a line is dropped) so memory stays bounded.

use process_core::output::MAX_LINE_BYTES;
use process_core::Stream;
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::executor::{Lines, RawLine};

/// Bytes read from a script's stdout or stderr at a time.
const PUMP_BUFFER: usize = 8 * 1024;

/// Pumps `stream` until it ends (or nobody listens any more). A trailing line without a
/// newline is sent too; a `\r` before the newline is dropped.
pub async fn pump(stream: impl AsyncRead + Unpin, kind: Stream, lines: Lines) {
    // The buffer is allocated zeroed, so it is resident for as long as the script runs: two
    // per process. 8 KiB keeps 1,000 running processes near 16 MiB (64 KiB cost 128 MiB, see
    // docs/benchmarks.md, memory) and still reads many 80-byte lines per syscall.
    let mut reader = BufReader::with_capacity(PUMP_BUFFER, stream);
    let mut line: Vec<u8> = Vec::new();
    let mut cut = false;
    // A read error ends the stream like EOF: the script's exit status tells the rest.
    while let Ok(chunk) = reader.fill_buf().await {
        if chunk.is_empty() {
            break;
        }
        let (take, complete) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        let data = &chunk[..take - usize::from(complete)];
        if data.len() > room {
            cut = true;
        }
        line.extend_from_slice(&data[..data.len().min(room)]);
        reader.consume(take);
        if complete && !send(&lines, kind, &mut line, &mut cut).await {
            return;
        }
    }
    if !line.is_empty() || cut {
        send(&lines, kind, &mut line, &mut cut).await;
    }
}

async fn send(lines: &Lines, stream: Stream, line: &mut Vec<u8>, cut: &mut bool) -> bool {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let raw = RawLine {
        stream,
        bytes: std::mem::take(line),
        time: OffsetDateTime::now_utc(),
        cut: std::mem::take(cut),
    };
    lines.send(raw).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    async fn pumped(input: &[u8]) -> Vec<(String, bool)> {
        let (tx, mut rx) = mpsc::channel(1024);
        pump(input, Stream::Stdout, tx).await;
        let mut got = Vec::new();
        while let Some(l) = rx.recv().await {
            got.push((String::from_utf8(l.bytes).unwrap(), l.cut));
        }
        got
    }

    #[tokio::test]
    async fn splits_lines_drops_cr_and_keeps_a_last_partial_line() {
        let got = pumped(b"a\r\n\nb\nlast").await;
        let want = [("a", false), ("", false), ("b", false), ("last", false)];
        assert_eq!(
            got,
            want.map(|(s, c)| (s.to_owned(), c)).to_vec(),
            "lines as read"
        );
    }

    #[tokio::test]
    async fn cuts_long_lines_and_goes_on() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 100];
        input.extend_from_slice(b"\nnext\n");
        let got = pumped(&input).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.len(), MAX_LINE_BYTES);
        assert!(got[0].1, "the long line is marked cut");
        assert_eq!(got[1], ("next".to_owned(), false));
    }
}
