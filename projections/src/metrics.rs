//! What the projectors report to the process's metrics recorder: each batch as it
//! commits, and order-fulfillment's decisions. Positions, lag and state are not recorded
//! here: `/metrics` reads them from the checkpoints when scraped ([`crate::status`]), so
//! every process reports them the same, whichever owns the projection.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram, Unit};

/// Seconds a committed batch took (read excluded), by projection.
pub const BATCH_DURATION: &str = "oms_projection_batch_duration_seconds";
/// Events a projection applied, by projection.
pub const EVENTS_APPLIED: &str = "oms_projection_events_applied_total";
/// Seconds from an order's placement to order-fulfillment's decision, by outcome.
pub const DECISION_LATENCY: &str = "oms_order_decision_seconds";

/// Describes this crate's metrics to the installed recorder.
pub fn describe() {
    describe_histogram!(
        BATCH_DURATION,
        Unit::Seconds,
        "Time a projection's committed batch took to apply and commit, by projection."
    );
    describe_counter!(EVENTS_APPLIED, "Events applied, by projection.");
    describe_histogram!(
        DECISION_LATENCY,
        Unit::Seconds,
        "Time from an order's placement to order-fulfillment confirming or rejecting it, by outcome."
    );
}

pub(crate) fn batch(projection: &'static str, events: usize, took: Duration) {
    histogram!(BATCH_DURATION, "projection" => projection).record(took.as_secs_f64());
    counter!(EVENTS_APPLIED, "projection" => projection).increment(events as u64);
}

pub(crate) fn decided(outcome: &'static str, placed: chrono::DateTime<chrono::Utc>) {
    let seconds = (chrono::Utc::now() - placed)
        .num_microseconds()
        .unwrap_or(0) as f64
        / 1e6;
    histogram!(DECISION_LATENCY, "outcome" => outcome).record(seconds.max(0.0));
}
