//! What the event store reports to the process's metrics recorder.

use cqrs_es::persist::SerializedEvent;
use metrics::{counter, describe_counter};

/// Events appended, by aggregate type and event type.
pub const EVENTS_APPENDED: &str = "oms_events_appended_total";

/// Describes this crate's metrics to the installed recorder.
pub fn describe() {
    describe_counter!(
        EVENTS_APPENDED,
        "Events appended to the log, by aggregate type and event type."
    );
}

pub(crate) fn appended(events: &[SerializedEvent]) {
    for event in events {
        counter!(
            EVENTS_APPENDED,
            "aggregate" => event.aggregate_type.clone(),
            "event" => event.event_type.clone()
        )
        .increment(1);
    }
}
