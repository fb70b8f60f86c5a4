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
    // One counter update per kind of event in the batch, not per event.
    let mut kinds = std::collections::BTreeMap::<(&str, &str), u64>::new();
    for event in events {
        *kinds
            .entry((&event.aggregate_type, &event.event_type))
            .or_default() += 1;
    }
    for ((aggregate, event), n) in kinds {
        counter!(
            EVENTS_APPENDED,
            "aggregate" => aggregate.to_owned(),
            "event" => event.to_owned()
        )
        .increment(n);
    }
}
