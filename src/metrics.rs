//! The process's metrics recorder (`metrics` with its Prometheus exporter): counters and
//! histograms the crates record as things happen, plus process metrics; `/metrics`
//! renders them after the readings it takes at scrape time ([`crate::ops`]).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Histogram buckets of every `*_seconds` metric: 1 ms to 10 s.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

struct Recorder {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();

/// Installs the recorder once per process (later calls return the same); `None` if
/// another recorder was installed first.
fn recorder() -> Option<&'static Recorder> {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .ok()?
                .install_recorder()
                .map_err(|error| tracing::warn!(%error, "metrics recorder not installed"))
                .ok()?;
            let process = metrics_process::Collector::default();
            process.describe();
            describe();
            Some(Recorder { handle, process })
        })
        .as_ref()
}

/// Installs the recorder, so that what happens from now on is counted.
pub fn install() {
    let _ = recorder();
}

/// Folds histogram samples into buckets every few seconds, for a long-running process.
pub fn spawn_upkeep() {
    if let Some(recorder) = recorder() {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                recorder.handle.run_upkeep();
            }
        });
    }
}

/// Everything recorded so far, in the Prometheus text format, with fresh process
/// metrics.
pub fn render() -> String {
    let Some(recorder) = recorder() else {
        return String::new();
    };
    recorder.process.collect();
    recorder.handle.run_upkeep();
    recorder.handle.render()
}

/// HTTP requests by route, method and status.
pub const HTTP_REQUESTS: &str = "oms_http_requests_total";
/// Seconds from a request's arrival to its response head, by route and method.
pub const HTTP_DURATION: &str = "oms_http_request_duration_seconds";

fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status."
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time from an HTTP request's arrival to its response, by route template and method."
    );
    event_store::metrics::describe();
    command_api::metrics::describe();
    projections::metrics::describe();
    query_graphql::metrics::describe();
    relay::metrics::describe();
}
