//! Small statistics helpers: percentiles of latency samples and ratios.

use std::time::Duration;

/// The `p`-th percentile (0–100) of `sorted` samples by the nearest-rank method: the smallest
/// sample with at least `p`% of the samples at or below it. `None` for no samples.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let n = sorted.len();
    // Nearest rank: ceil(p/100 * n), at least 1.
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// Latency samples in milliseconds, summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    /// Summarises `samples`; all zeros for none.
    pub fn of(samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        Self {
            count: ms.len(),
            p50_ms: percentile(&ms, 50.0).unwrap_or(0.0),
            p99_ms: percentile(&ms, 99.0).unwrap_or(0.0),
            max_ms: ms.last().copied().unwrap_or(0.0),
        }
    }
}

/// Events per second.
pub fn rate(count: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// `a / b`, 0 when `b` is 0 (a ratio that cannot be measured reads as a miss, never a win).
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Rounds to `digits` decimals, for the JSON line.
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(samples: &[f64], p: f64, expected: Option<f64>) {
        assert_eq!(percentile(samples, p), expected, "p{p} of {samples:?}");
    }

    #[test]
    fn percentile_uses_the_nearest_rank() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        check(&hundred, 50.0, Some(50.0));
        check(&hundred, 99.0, Some(99.0));
        check(&hundred, 100.0, Some(100.0));
        check(&hundred, 0.0, Some(1.0));
        check(&[1.0, 2.0, 3.0, 4.0], 50.0, Some(2.0));
        check(&[1.0, 2.0, 3.0, 4.0], 99.0, Some(4.0));
        check(&[7.0], 99.0, Some(7.0));
        check(&[], 50.0, None);
        check(&[1.0, 2.0], 250.0, Some(2.0));
    }

    #[test]
    fn summary_sorts_and_converts_to_milliseconds() {
        let samples: Vec<Duration> = [5u64, 1, 3, 2, 4]
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect();
        let s = Summary::of(&samples);
        assert_eq!(s.count, 5);
        assert!((s.p50_ms - 3.0).abs() < 1e-9);
        assert!((s.p99_ms - 5.0).abs() < 1e-9);
        assert!((s.max_ms - 5.0).abs() < 1e-9);
        assert_eq!(Summary::of(&[]).count, 0);
    }

    #[test]
    fn rate_and_ratio_never_divide_by_zero() {
        assert!((rate(10, Duration::from_secs(2)) - 5.0).abs() < 1e-9);
        assert_eq!(rate(10, Duration::ZERO), 0.0);
        assert!((ratio(1.0, 4.0) - 0.25).abs() < 1e-9);
        assert_eq!(ratio(1.0, 0.0), 0.0);
        assert!((round(0.123_456, 3) - 0.123).abs() < 1e-12);
    }
}
