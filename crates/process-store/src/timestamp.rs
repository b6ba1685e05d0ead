//! Times are stored as microseconds since the Unix epoch (UTC).

use time::OffsetDateTime;

pub fn to_micros(t: OffsetDateTime) -> i64 {
    // i64 microseconds cover ±292,000 years; the cast cannot overflow for real dates.
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_microseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000).unwrap();
        assert_eq!(from_micros(to_micros(t)), t);
    }
}
