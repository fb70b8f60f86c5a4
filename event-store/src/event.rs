//! Events as the log stores them, and the metadata every event carries.

use chrono::{DateTime, SecondsFormat, Utc};
use cqrs_es::persist::SerializedEvent;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::LogPosition;

/// Metadata key: the id shared by every event that one outside request set off.
pub const CORRELATION_ID: &str = "correlation_id";
/// Metadata key: the id of the command or event that directly caused this event.
pub const CAUSATION_ID: &str = "causation_id";
/// Metadata key: when the event was recorded (RFC 3339, UTC, microseconds).
pub const RECORDED_AT: &str = "recorded_at";
/// Metadata key: who caused the event, `{"sub": "...", "roles": [...]}`.
pub const ACTOR: &str = "actor";

/// The actor of events the platform causes itself (the process managers).
pub fn system_actor() -> Value {
    serde_json::json!({ "sub": "oms", "roles": ["system"] })
}

/// The metadata a writer gives its events: what chain they belong to, what caused them,
/// and who ([`ACTOR`]); `recorded_at` is added on append.
pub fn metadata(correlation_id: &str, causation_id: &str, actor: Value) -> Value {
    let mut metadata = Map::new();
    metadata.insert(CORRELATION_ID.into(), Value::from(correlation_id));
    metadata.insert(CAUSATION_ID.into(), Value::from(causation_id));
    metadata.insert(ACTOR.into(), actor);
    Value::Object(metadata)
}

/// One committed event, read from the log.
///
/// Payload and metadata stay raw JSON text: reading the log is the hot path of every
/// projection and rebuild, and each consumer decodes straight into its own types once
/// ([`RecordedEvent::decode_payload`]) instead of through a `serde_json::Value` tree.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedEvent {
    /// The event's global position: unique, and the number clients see.
    pub position: i64,
    /// The transaction that appended it; with `position` it forms the read order.
    #[serde(skip)]
    pub transaction_id: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Box<RawValue>,
    pub metadata: Box<RawValue>,
    /// Printed like `metadata.recorded_at`: RFC 3339, UTC, always six fraction digits.
    #[serde(serialize_with = "rfc3339_micros")]
    pub recorded_at: DateTime<Utc>,
}

fn rfc3339_micros<S: serde::Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

impl RecordedEvent {
    /// Where a reader stands after this event.
    pub fn log_position(&self) -> LogPosition {
        LogPosition {
            transaction_id: self.transaction_id,
            position: self.position,
        }
    }

    /// The payload decoded into `T`.
    pub fn decode_payload<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.payload.get())
    }

    /// The metadata decoded into `T`.
    pub fn decode_metadata<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.metadata.get())
    }

    /// The event as cqrs-es hands it to aggregates and queries. cqrs-es's metadata is a
    /// map of strings: a structured entry (`actor`) is handed on as its JSON text.
    pub fn into_serialized(self) -> serde_json::Result<SerializedEvent> {
        let metadata = match serde_json::from_str(self.metadata.get())? {
            Value::Object(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| match value {
                        Value::String(_) => (key, value),
                        other => (key, Value::String(other.to_string())),
                    })
                    .collect(),
            ),
            other => other,
        };
        Ok(SerializedEvent {
            aggregate_id: self.aggregate_id,
            // Sequences are written from cqrs-es `usize` values and checked `>= 1` by the
            // table, so they always fit.
            sequence: usize::try_from(self.sequence).unwrap_or_default(),
            aggregate_type: self.aggregate_type,
            event_type: self.event_type,
            event_version: self.event_version,
            payload: serde_json::from_str(self.payload.get())?,
            metadata,
        })
    }
}

/// Completes an event's metadata before it is appended: every event carries
/// `correlation_id`, `causation_id` and `recorded_at`. Values the caller set are kept; the
/// defaults make a command with no outside cause its own correlation and causation.
pub(crate) fn complete_metadata(metadata: &Value, defaults: &MetadataDefaults) -> Value {
    let mut map = match metadata {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let correlation = map
        .get(CORRELATION_ID)
        .and_then(Value::as_str)
        .map_or_else(|| defaults.correlation_id.clone(), str::to_owned);
    map.entry(CAUSATION_ID)
        .or_insert_with(|| Value::String(correlation.clone()));
    map.insert(CORRELATION_ID.to_owned(), Value::String(correlation));
    map.insert(
        RECORDED_AT.to_owned(),
        Value::String(defaults.recorded_at_text.clone()),
    );
    Value::Object(map)
}

/// The values one append gives to every event that lacks them.
#[derive(Debug)]
pub(crate) struct MetadataDefaults {
    pub(crate) correlation_id: String,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) recorded_at_text: String,
}

impl MetadataDefaults {
    pub(crate) fn now() -> Self {
        // PostgreSQL keeps microseconds; truncate so the column and the metadata agree.
        let now = Utc::now();
        let recorded_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        Self {
            correlation_id: Uuid::new_v4().to_string(),
            recorded_at,
            recorded_at_text: recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cqrs_es_gets_structured_metadata_as_json_text() {
        let raw = |value: Value| RawValue::from_string(value.to_string()).expect("JSON");
        let event = RecordedEvent {
            position: 1,
            transaction_id: 1,
            aggregate_type: "Product".into(),
            aggregate_id: "TEA".into(),
            sequence: 1,
            event_type: "ProductDefined".into(),
            event_version: "1".into(),
            payload: raw(json!({"ProductDefined": {}})),
            metadata: raw(metadata("c", "c", json!({"sub": "s", "roles": ["staff"]}))),
            recorded_at: Utc::now(),
        };
        let serialized = event.into_serialized().expect("serialized");
        // cqrs-es reads metadata as a map of strings.
        let metadata: std::collections::HashMap<String, String> =
            serde_json::from_value(serialized.metadata).expect("a map of strings");
        assert_eq!(metadata[CORRELATION_ID], "c");
        let actor: Value = serde_json::from_str(&metadata[ACTOR]).expect("JSON text");
        assert_eq!(actor, json!({"sub": "s", "roles": ["staff"]}));
    }

    #[test]
    fn fills_missing_metadata_and_keeps_given_ids() {
        let defaults = MetadataDefaults::now();
        let filled = complete_metadata(&json!({}), &defaults);
        assert_eq!(filled[CORRELATION_ID], json!(defaults.correlation_id));
        assert_eq!(filled[CAUSATION_ID], json!(defaults.correlation_id));
        assert_eq!(filled[RECORDED_AT], json!(defaults.recorded_at_text));

        let given = complete_metadata(
            &json!({"correlation_id": "c", "causation_id": "e"}),
            &defaults,
        );
        assert_eq!(given[CORRELATION_ID], json!("c"));
        assert_eq!(given[CAUSATION_ID], json!("e"));

        let only_correlation = complete_metadata(&json!({"correlation_id": "c"}), &defaults);
        assert_eq!(only_correlation[CAUSATION_ID], json!("c"));
    }
}
