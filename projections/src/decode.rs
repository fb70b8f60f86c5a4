//! Events from the log as the domain types them.

use chrono::{DateTime, Utc};
use cqrs_es::persist::EventUpcaster;
use domain::events;
use domain::{CustomerEvent, OrderEvent, ProductEvent, ShipmentEvent};
use event_store::RecordedEvent;
use serde::de::DeserializeOwned;

/// A domain event of any aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Customer(CustomerEvent),
    Product(ProductEvent),
    Order(OrderEvent),
    Shipment(ShipmentEvent),
}

/// A decoded event with where it stands in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub position: i64,
    pub aggregate_id: String,
    pub sequence: i64,
    pub recorded_at: DateTime<Utc>,
    /// The request this event's chain started from (its metadata's `correlation_id`).
    pub correlation_id: Option<String>,
    pub event: Event,
}

/// Decodes a stored event, upcasting old versions. An event that cannot be decoded is an
/// error: projections never skip one silently.
pub fn decode(
    recorded: &RecordedEvent,
    upcasters: &[Box<dyn EventUpcaster>],
) -> anyhow::Result<Envelope> {
    let needs_upcast = upcasters
        .iter()
        .any(|u| u.can_upcast(&recorded.event_type, &recorded.event_version));
    let event = if needs_upcast {
        let mut serialized = recorded.clone().into_serialized()?;
        for upcaster in upcasters {
            if upcaster.can_upcast(&serialized.event_type, &serialized.event_version) {
                serialized = upcaster.upcast(serialized);
            }
        }
        typed(&recorded.aggregate_type, &serialized.payload.to_string())?
    } else {
        typed(&recorded.aggregate_type, recorded.payload.get())?
    };
    let metadata: serde_json::Value = recorded.decode_metadata().unwrap_or_default();
    Ok(Envelope {
        position: recorded.position,
        aggregate_id: recorded.aggregate_id.clone(),
        sequence: recorded.sequence,
        recorded_at: recorded.recorded_at,
        correlation_id: metadata
            .get("correlation_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        event,
    })
}

fn typed(aggregate_type: &str, payload: &str) -> anyhow::Result<Event> {
    fn parse<T: DeserializeOwned>(payload: &str) -> anyhow::Result<T> {
        Ok(serde_json::from_str(payload)?)
    }
    Ok(match aggregate_type {
        events::CUSTOMER => Event::Customer(parse(payload)?),
        events::PRODUCT => Event::Product(parse(payload)?),
        events::ORDER => Event::Order(parse(payload)?),
        events::SHIPMENT => Event::Shipment(parse(payload)?),
        other => anyhow::bail!("no projection knows aggregate type {other:?}"),
    })
}
