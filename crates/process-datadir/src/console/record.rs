//! One line of a console log on disk: `len u32 | crc32 u32 | seq i64 | time i64 (µs) |
//! stream u8 | text`, little-endian, `len` and the checksum covering everything after the
//! header. A record whose length runs past the end of the file or whose checksum does not
//! match is where the log ends: after a kill -9 that is the torn last write, dropped rather
//! than shown.

use process_core::{LineRef, OutputLine, Stream};
use time::OffsetDateTime;

/// Bytes before the body: its length and its checksum.
pub const HEADER: usize = 8;
/// Bytes of the body before the text.
const FIXED: usize = 17;
/// No line is longer than the 16 KiB cap plus its marker; a length beyond this is damage.
pub const MAX_BODY: usize = 1 << 20;

/// Appends one encoded line to `out`.
pub fn encode(line: &LineRef<'_>, out: &mut Vec<u8>) {
    let text = line.line.as_bytes();
    let body_len = FIXED + text.len();
    out.reserve(HEADER + body_len);
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&line.seq.to_le_bytes());
    out.extend_from_slice(&micros(line.time).to_le_bytes());
    out.push(match line.stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    });
    out.extend_from_slice(text);
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
}

/// The body length a header announces, if it can be a record at all.
pub fn body_len(header: &[u8; HEADER]) -> Option<usize> {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    (FIXED..=MAX_BODY).contains(&len).then_some(len)
}

/// Decodes a body read after `header`; `None` when the checksum or the content is wrong.
pub fn decode(header: &[u8; HEADER], body: &[u8]) -> Option<OutputLine> {
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if body.len() < FIXED || crc32fast::hash(body) != crc {
        return None;
    }
    let seq = i64::from_le_bytes(body[0..8].try_into().ok()?);
    let time = from_micros(i64::from_le_bytes(body[8..16].try_into().ok()?))?;
    let stream = match body[16] {
        0 => Stream::Stdout,
        1 => Stream::Stderr,
        _ => return None,
    };
    let line = String::from_utf8(body[FIXED..].to_vec()).ok()?;
    Some(OutputLine {
        seq,
        time,
        stream,
        line,
    })
}

pub fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub fn from_micros(us: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: i64, text: &str) -> OutputLine {
        OutputLine {
            seq,
            time: from_micros(1_700_000_000_123_456).expect("time"),
            stream: if seq % 2 == 0 {
                Stream::Stderr
            } else {
                Stream::Stdout
            },
            line: text.to_owned(),
        }
    }

    fn split(buf: &[u8]) -> ([u8; HEADER], &[u8]) {
        let header: [u8; HEADER] = buf[..HEADER].try_into().expect("header");
        (header, &buf[HEADER..])
    }

    #[test]
    fn round_trips_any_text() {
        for (seq, text) in [(1, ""), (2, "plain"), (3, "\u{e9}t\u{e9} \u{1f600}\ttab\r")] {
            let l = line(seq, text);
            let mut buf = Vec::new();
            encode(&(&l).into(), &mut buf);
            let (header, body) = split(&buf);
            assert_eq!(body_len(&header), Some(body.len()));
            assert_eq!(decode(&header, body), Some(l));
        }
    }

    #[test]
    fn a_flipped_bit_or_a_short_body_is_no_record() {
        let mut buf = Vec::new();
        encode(&(&line(7, "hello")).into(), &mut buf);
        let mut bad = buf.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let (header, body) = split(&bad);
        assert_eq!(decode(&header, body), None);
        let (header, body) = split(&buf);
        assert_eq!(decode(&header, &body[..body.len() - 1]), None);
    }

    #[test]
    fn absurd_lengths_are_refused() {
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(body_len(&header), None);
        header[..4].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(body_len(&header), None);
    }
}
