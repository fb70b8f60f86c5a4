//! What the relay reports to the process's metrics recorder. Its position, lag and state
//! are the runtime's, read from its checkpoint at scrape time like every projection's.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_histogram, histogram, Unit};

/// Messages JetStream stored, by kind (`event`, `view`).
pub const PUBLISHED: &str = "oms_relay_published_total";
/// Messages JetStream dropped as republications (`Nats-Msg-Id` seen), by kind.
pub const DUPLICATES: &str = "oms_relay_duplicates_total";
/// Seconds from an event's append to JetStream's acknowledgement of it.
pub const DELAY: &str = "oms_relay_delay_seconds";

/// Describes these metrics to the installed recorder.
pub fn describe() {
    describe_counter!(
        PUBLISHED,
        "Messages the relay published that JetStream stored, by kind (event, view)."
    );
    describe_counter!(
        DUPLICATES,
        "Messages JetStream dropped as republications of stored ones (after a restart), by kind."
    );
    describe_histogram!(
        DELAY,
        Unit::Seconds,
        "Time from an event's append to JetStream's acknowledgement of it."
    );
}

pub(crate) fn published(kind: &'static str, stored: u64, duplicates: u64) {
    counter!(PUBLISHED, "kind" => kind).increment(stored);
    counter!(DUPLICATES, "kind" => kind).increment(duplicates);
}

pub(crate) fn delay(took: Duration) {
    histogram!(DELAY).record(took.as_secs_f64());
}
