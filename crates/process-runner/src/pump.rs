//! The line pump every executor uses: reads a stream (a pipe, a growing file) in large
//! chunks and sends the lines of each read as one message with the time of the read, cutting
//! lines longer than MAX_LINE_BYTES (the rest of such a line is dropped) so memory stays
//! bounded.

use process_core::output::MAX_LINE_BYTES;
use process_core::Stream;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::executor::{Lines, RawLines};

/// Bytes read from a script's stdout or stderr at a time: a whole pipe's worth.
const PUMP_BUFFER: usize = 64 * 1024;

/// Pumps `stream` until it ends (or nobody listens any more), sending the complete lines of
/// each read together, stamped with the time of that read. A trailing line without a newline
/// is sent too; a `\r` before the newline is dropped.
pub async fn pump(mut stream: impl AsyncRead + Unpin, kind: Stream, lines: Lines) {
    // Reserved, not zeroed: only the pages a read fills become resident, so a quiet script
    // costs a page or two per stream (see docs/benchmarks.md, memory), a chatty one a pipe's
    // worth.
    let mut buf: Vec<u8> = Vec::with_capacity(PUMP_BUFFER);
    // The start of a line an earlier read began (at most MAX_LINE_BYTES of it).
    let mut partial: Vec<u8> = Vec::new();
    let mut cut = false;
    loop {
        buf.clear();
        // A read error ends the stream like EOF: the script's exit status tells the rest.
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let time = OffsetDateTime::now_utc();
        // Sized once: growing it line by line cost more than splitting the lines.
        let count = memchr::memchr_iter(b'\n', &buf).count();
        let mut read = RawLines::with_capacity(kind, time, count, partial.len() + buf.len());
        let mut rest = &buf[..];
        while let Some(i) = memchr::memchr(b'\n', rest) {
            if partial.is_empty() && !cut {
                let end = i.min(MAX_LINE_BYTES);
                read.push(without_cr(&rest[..end]), i > MAX_LINE_BYTES);
            } else {
                keep(&mut partial, &rest[..i], &mut cut);
                read.push(without_cr(&partial), std::mem::take(&mut cut));
                partial.clear();
            }
            rest = &rest[i + 1..];
        }
        keep(&mut partial, rest, &mut cut);
        if !read.is_empty() && lines.send(read).await.is_err() {
            return;
        }
    }
    if !partial.is_empty() || cut {
        let _ = lines
            .send(RawLines::one(kind, without_cr(&partial), cut))
            .await;
    }
}

/// Adds `data` to the line being read, up to the line limit; what does not fit cuts it.
fn keep(partial: &mut Vec<u8>, data: &[u8], cut: &mut bool) {
    let room = MAX_LINE_BYTES.saturating_sub(partial.len());
    if data.len() > room {
        *cut = true;
    }
    partial.extend_from_slice(&data[..data.len().min(room)]);
}

/// A line without the `\r` of a `\r\n` ending.
fn without_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    /// Gives its bytes `step` at a time, as a pipe may.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl tokio::io::AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let n = self.step.min(self.data.len()).min(buf.remaining());
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            std::task::Poll::Ready(Ok(()))
        }
    }

    async fn pumped(input: &[u8]) -> Vec<(String, bool)> {
        let whole = pumped_by(input, usize::MAX).await;
        for step in [1, 3, 7, 4096] {
            assert_eq!(
                pumped_by(input, step).await,
                whole,
                "read {step} bytes at a time"
            );
        }
        whole
    }

    async fn pumped_by(input: &[u8], step: usize) -> Vec<(String, bool)> {
        let (tx, mut rx) = mpsc::channel(1024);
        pump(Trickle { data: input, step }, Stream::Stdout, tx).await;
        let mut got = Vec::new();
        while let Some(read) = rx.recv().await {
            for (line, cut) in read.iter() {
                got.push((String::from_utf8(line.to_vec()).unwrap(), cut));
            }
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
        input.extend_from_slice(&vec![b'y'; MAX_LINE_BYTES]);
        input.extend_from_slice(b"\n");
        input.extend_from_slice(&vec![b'z'; MAX_LINE_BYTES + 1]);
        let got = pumped(&input).await;
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].0.len(), MAX_LINE_BYTES);
        assert!(got[0].1, "the long line is marked cut");
        assert_eq!(got[1], ("next".to_owned(), false));
        assert_eq!(
            (got[2].0.len(), got[2].1),
            (MAX_LINE_BYTES, false),
            "exactly the limit"
        );
        assert_eq!(
            (got[3].0.len(), got[3].1),
            (MAX_LINE_BYTES, true),
            "a last cut line"
        );
    }
}
