//! Prometheus metrics: processes by status (read from the store at scrape time), launches,
//! output lines captured, and HTTP request durations by route.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// One of a fixed set (`method_label`).
    pub method: &'static str,
    /// The route pattern (`/api/system/processes/{id}`), never the raw path, so the number
    /// of series stays bounded.
    pub route: String,
    pub status: u16,
}

/// The method label of a request: the standard methods by name, anything else `other`, so
/// invented methods cannot add series.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

type DurationFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    pub launches: Counter,
    lines: Counter,
    lines_seen: Mutex<u64>,
    processes: Family<StatusLabel, Gauge>,
    running_here: Gauge,
    pub requests: DurationFamily,
    /// Password hashes running now, and the most that ran at once since start.
    pub login_hashes: Gauge,
    pub login_hashes_peak: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("processd");
        let launches = Counter::default();
        let lines = Counter::default();
        let processes = Family::<StatusLabel, Gauge>::default();
        let running_here = Gauge::default();
        let requests: DurationFamily = Family::new_with_constructor(duration_histogram);
        let login_hashes = Gauge::default();
        let login_hashes_peak = Gauge::default();
        registry.register(
            "login_hashes",
            "Login password hashes running now",
            login_hashes.clone(),
        );
        registry.register(
            "login_hashes_peak",
            "The most login password hashes that ran at once since start",
            login_hashes_peak.clone(),
        );
        registry.register(
            "launches",
            "Processes launched through the API",
            launches.clone(),
        );
        registry.register(
            "output_lines",
            "Console lines captured and stored by this node",
            lines.clone(),
        );
        registry.register(
            "processes",
            "Processes in the store by status",
            processes.clone(),
        );
        registry.register(
            "running_local",
            "Processes running on this node",
            running_here.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request durations by route",
            requests.clone(),
        );
        Self {
            registry,
            launches,
            lines,
            lines_seen: Mutex::new(0),
            processes,
            running_here,
            requests,
            login_hashes,
            login_hashes_peak,
        }
    }
}

impl Metrics {
    /// The text exposition, after updating the values read at scrape time.
    pub fn render(&self, by_status: &[(String, i64)], lines_total: u64, running: usize) -> String {
        for status in ["SCHEDULED", "RUNNING", "COMPLETED", "FAILED"] {
            let n = by_status
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            self.processes
                .get_or_create(&StatusLabel {
                    status: status.to_owned(),
                })
                .set(n);
        }
        {
            let mut seen = self
                .lines_seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.lines.inc_by(lines_total.saturating_sub(*seen));
            *seen = lines_total.max(*seen);
        }
        self.running_here
            .set(i64::try_from(running).unwrap_or(i64::MAX));
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method;

    #[test]
    fn methods_map_to_a_fixed_set() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        assert_eq!(method_label(&Method::TRACE), "other");
        assert_eq!(
            method_label(&Method::from_bytes(b"FOOBAR").unwrap()),
            "other"
        );
    }
}
