//! The sparse index beside a console log: one fixed-size entry per appended batch, so a read
//! by sequence number or time seeks to the batch that holds it instead of scanning the log.
//! An entry is written after its batch, so every entry describes bytes already in the log; a
//! torn last entry (a partial one) is ignored.

/// `first_seq i64 | last_seq i64 | offset u64 | end u64 | max_time i64`, little-endian.
pub const ENTRY: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub first_seq: i64,
    pub last_seq: i64,
    /// Where the batch starts in the log, and where it ends.
    pub offset: u64,
    pub end: u64,
    /// The latest line time up to the end of this batch (lines from two streams can be a
    /// little out of time order, so the running maximum is what stays sorted).
    pub max_time: i64,
}

impl Entry {
    pub fn encode(&self) -> [u8; ENTRY] {
        let mut out = [0u8; ENTRY];
        out[0..8].copy_from_slice(&self.first_seq.to_le_bytes());
        out[8..16].copy_from_slice(&self.last_seq.to_le_bytes());
        out[16..24].copy_from_slice(&self.offset.to_le_bytes());
        out[24..32].copy_from_slice(&self.end.to_le_bytes());
        out[32..40].copy_from_slice(&self.max_time.to_le_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> Option<Entry> {
        let field = |i: usize| -> Option<[u8; 8]> { b.get(i..i + 8)?.try_into().ok() };
        Some(Entry {
            first_seq: i64::from_le_bytes(field(0)?),
            last_seq: i64::from_le_bytes(field(8)?),
            offset: u64::from_le_bytes(field(16)?),
            end: u64::from_le_bytes(field(24)?),
            max_time: i64::from_le_bytes(field(32)?),
        })
    }
}

/// Every whole entry of an index file's bytes that lies within a log of `log_len` bytes.
pub fn entries(bytes: &[u8], log_len: u64) -> Vec<Entry> {
    bytes
        .chunks_exact(ENTRY)
        .map_while(Entry::decode)
        .take_while(|e| e.end <= log_len && e.offset < e.end)
        .collect()
}

/// Where to start reading for lines after `after_seq` read at or after `from_time` (µs):
/// the latest batch that can hold the first such line. Past the last entry, the end of the
/// last batch (lines appended since are not indexed yet).
pub fn seek(entries: &[Entry], after_seq: i64, from_time: Option<i64>) -> u64 {
    let by_seq = entries.partition_point(|e| e.first_seq <= after_seq.saturating_add(1));
    let mut start = match by_seq {
        0 => 0,
        i => entries[i - 1].offset,
    };
    if let Some(from) = from_time {
        let by_time = entries.partition_point(|e| e.max_time < from);
        let at = match entries.get(by_time) {
            Some(e) => e.offset,
            None => entries.last().map_or(0, |e| e.end),
        };
        start = start.max(at);
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batches() -> Vec<Entry> {
        // Three batches of 10 lines, 100 bytes each, times 1000 µs apart per batch.
        (0..3)
            .map(|i| Entry {
                first_seq: i * 10 + 1,
                last_seq: i * 10 + 10,
                offset: i as u64 * 100,
                end: i as u64 * 100 + 100,
                max_time: (i + 1) * 1000,
            })
            .collect()
    }

    #[test]
    fn entries_round_trip_and_a_torn_one_is_ignored() {
        let mut bytes: Vec<u8> = batches().iter().flat_map(Entry::encode).collect();
        bytes.extend_from_slice(&[1, 2, 3]);
        assert_eq!(entries(&bytes, 300), batches());
        // Entries past the end of the log (a log cut shorter) are not trusted.
        assert_eq!(entries(&bytes, 250), batches()[..2].to_vec());
    }

    #[test]
    fn seeks_by_seq() {
        let e = batches();
        assert_eq!(seek(&e, 0, None), 0);
        assert_eq!(seek(&e, 9, None), 0);
        assert_eq!(seek(&e, 10, None), 100);
        assert_eq!(seek(&e, 25, None), 200);
        assert_eq!(seek(&e, 1_000, None), 200);
        assert_eq!(seek(&[], 1_000, None), 0);
    }

    #[test]
    fn seeks_by_time_and_takes_the_later_of_both() {
        let e = batches();
        assert_eq!(seek(&e, 0, Some(1000)), 0);
        assert_eq!(seek(&e, 0, Some(1001)), 100);
        assert_eq!(seek(&e, 0, Some(5000)), 300, "after every indexed batch");
        assert_eq!(seek(&e, 25, Some(1001)), 200);
    }
}
