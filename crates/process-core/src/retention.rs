//! The retention rule: a finished process (and an upload session) is kept `retention_days`
//! after it ended (or was last changed), then deleted. Pure arithmetic: the caller passes
//! the times in.

use time::{Duration, OffsetDateTime};

/// When a process that ended at `end` expires.
pub fn expiry(end: OffsetDateTime, days: u32) -> OffsetDateTime {
    end + Duration::days(i64::from(days))
}

/// Anything that ended before this has outlived `days` of retention at `now`.
pub fn cutoff(now: OffsetDateTime, days: u32) -> OffsetDateTime {
    now - Duration::days(i64::from(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_cutoff_are_days_apart() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(100);
        assert_eq!(expiry(now, 7), now + Duration::days(7));
        assert_eq!(cutoff(now, 7), now - Duration::days(7));
        // Expired exactly when the end lies before the cutoff.
        let end = cutoff(now, 7) - Duration::seconds(1);
        assert!(expiry(end, 7) < now);
    }
}
