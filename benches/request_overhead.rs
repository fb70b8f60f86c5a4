//! What observing a request costs: the same trivial route called in this process (no
//! socket, no database) bare, through `observe` (request id, span, metrics by route and
//! status) with no log subscriber, and through `observe` with the JSON log subscriber
//! `oms serve` installs writing to a sink (the access-log line formatted, then dropped).
//! Rounds alternate; each reports microseconds per request, and the median difference
//! is the layer's cost.
//!
//! Run: `cargo bench --bench request_overhead` (OMS_BENCH_REQUESTS=N per round).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const ROUNDS: usize = 8;

fn requests() -> usize {
    std::env::var("OMS_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

fn route() -> Router {
    Router::new().route("/orders/{id}", get(|| async { "ok" }))
}

/// Microseconds per request over `n` sequential requests.
async fn per_request(app: &Router, n: usize) -> f64 {
    let started = Instant::now();
    for i in 0..n {
        let request = Request::get(format!("/orders/{i}"))
            .body(Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        assert!(response.status().is_success());
    }
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// A sink that counts the bytes written to it, to show the log lines were formatted.
struct Counted;

static LOGGED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl std::io::Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGGED.fetch_add(bytes.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    oms::metrics::install();
    let n = requests();
    let bare = route();
    let observed = oms::observe::requests(oms::observe::routes(route()));
    // The JSON log layer, switched off (as if absent) but for the logged variant.
    let (level, switch) = tracing_subscriber::reload::Layer::new(LevelFilter::OFF);
    tracing_subscriber::registry()
        .with(level)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_writer(|| Counted),
        )
        .init();
    per_request(&observed, n / 10).await; // warm the registry and allocator

    let (mut bare_us, mut observed_us, mut logged_us) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let b = per_request(&bare, n).await;
        let o = per_request(&observed, n).await;
        switch.reload(LevelFilter::INFO).expect("log on");
        let l = per_request(&observed, n).await;
        switch.reload(LevelFilter::OFF).expect("log off");
        println!(
            "  round {}: bare {b:6.2} µs  observed {o:6.2} µs  observed+JSON log {l:6.2} µs ({} log bytes so far)",
            round + 1,
            LOGGED.load(std::sync::atomic::Ordering::Relaxed)
        );
        bare_us.push(b);
        observed_us.push(o);
        logged_us.push(l);
    }
    let (b, o, l) = (median(bare_us), median(observed_us), median(logged_us));
    println!(
        "request_overhead ({n} requests per round, {ROUNDS} rounds, medians): bare {b:.2} µs, \
         observed {o:.2} µs (+{:.2} µs, {:.2}x), with the JSON access log {l:.2} µs (+{:.2} µs, {:.2}x)",
        o - b,
        o / b,
        l - b,
        l / b
    );
}
