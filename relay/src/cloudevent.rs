//! An event of the log as a CloudEvents 1.0 JSON event (structured mode) on its subject.

use std::borrow::Cow;

use bytes::Bytes;
use chrono::SecondsFormat;
use event_store::RecordedEvent;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// Where every event's subject starts: `oms.events.<aggregate>.<EventType>`.
pub const EVENTS_PREFIX: &str = "oms.events";

/// A message ready for JetStream.
#[derive(Debug, Clone)]
pub struct Message {
    pub subject: String,
    /// `Nats-Msg-Id`: the same on every publication of the same thing.
    pub id: Uuid,
    pub body: Bytes,
}

/// The CloudEvent `id` of the event at `sequence` of an aggregate: the UUIDv5 of
/// `"<aggregate_type>/<aggregate_id>/<sequence>"` in the OMS namespace, so a republication
/// carries the same id.
pub fn id(aggregate_type: &str, aggregate_id: &str, sequence: i64) -> Uuid {
    Uuid::new_v5(
        &domain::values::OMS_NAMESPACE,
        format!("{aggregate_type}/{aggregate_id}/{sequence}").as_bytes(),
    )
}

/// The subject of an event: `oms.events.order.OrderPlaced`.
pub fn subject(aggregate_type: &str, event_type: &str) -> String {
    format!(
        "{EVENTS_PREFIX}.{}.{event_type}",
        aggregate_type.to_lowercase()
    )
}

#[derive(Serialize)]
struct CloudEvent<'a> {
    specversion: &'static str,
    id: Uuid,
    source: &'static str,
    #[serde(rename = "type")]
    kind: String,
    subject: &'a str,
    time: String,
    datacontenttype: &'static str,
    data: &'a RawValue,
    position: i64,
    sequence: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlationid: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    causationid: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    correlation_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    causation_id: Option<Cow<'a, str>>,
}

/// `event` as its CloudEvent, on its subject.
pub fn message(event: &RecordedEvent) -> anyhow::Result<Message> {
    let id = id(&event.aggregate_type, &event.aggregate_id, event.sequence);
    let metadata: Metadata = serde_json::from_str(event.metadata.get())?;
    let body = serde_json::to_vec(&CloudEvent {
        specversion: "1.0",
        id,
        source: "oms",
        kind: format!(
            "oms.{}.{}.v{}",
            event.aggregate_type.to_lowercase(),
            event.event_type,
            event.event_version
        ),
        subject: &event.aggregate_id,
        time: event
            .recorded_at
            .to_rfc3339_opts(SecondsFormat::Micros, true),
        datacontenttype: "application/json",
        data: &event.payload,
        position: event.position,
        sequence: event.sequence,
        correlationid: metadata.correlation_id,
        causationid: metadata.causation_id,
    })?;
    Ok(Message {
        subject: subject(&event.aggregate_type, &event.event_type),
        id,
        body: body.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = id("Order", "3f2b7c1e-0000-4000-8000-000000000001", 1);
        assert_eq!(a, id("Order", "3f2b7c1e-0000-4000-8000-000000000001", 1));
        assert_ne!(a, id("Order", "3f2b7c1e-0000-4000-8000-000000000001", 2));
        assert_ne!(a, id("Shipment", "3f2b7c1e-0000-4000-8000-000000000001", 1));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn subjects_name_the_aggregate_in_lower_case() {
        assert_eq!(
            subject("Order", "OrderPlaced"),
            "oms.events.order.OrderPlaced"
        );
    }
}
