//! The event contract in `schemas/events`: every event type has a sample at its current
//! version, and every sample (old versions through their upcasters) reads with this code.

use std::collections::BTreeSet;
use std::path::PathBuf;

use cqrs_es::persist::{ReplayStream, SerializedEvent};
use domain::events::{self, EventKind};
use domain::{Customer, CustomerEvent, OrderEvent, ProductEvent, ShipmentEvent};
use serde_json::Value;

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/events")
}

/// Every sample file: (file stem, the stored event it describes).
fn samples() -> Vec<(String, SerializedEvent)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(samples_dir()).expect("schemas/events exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("readable"))
            .expect("valid JSON");
        let text = |key: &str| {
            doc[key]
                .as_str()
                .unwrap_or_else(|| panic!("{path:?}: no {key}"))
                .to_owned()
        };
        let event = SerializedEvent {
            aggregate_id: "sample".into(),
            sequence: 1,
            aggregate_type: text("aggregate_type"),
            event_type: text("event_type"),
            event_version: text("event_version"),
            payload: doc["payload"].clone(),
            metadata: doc["metadata"].clone(),
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name")
            .to_owned();
        out.push((stem, event));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Deserialises a current-version payload with the aggregate's event type; returns its kind.
fn decode(aggregate_type: &str, payload: Value) -> Result<EventKind, serde_json::Error> {
    Ok(match aggregate_type {
        events::CUSTOMER => serde_json::from_value::<CustomerEvent>(payload)?.kind(),
        events::PRODUCT => serde_json::from_value::<ProductEvent>(payload)?.kind(),
        events::ORDER => serde_json::from_value::<OrderEvent>(payload)?.kind(),
        events::SHIPMENT => serde_json::from_value::<ShipmentEvent>(payload)?.kind(),
        other => panic!("unknown aggregate type {other}"),
    })
}

fn upcast(mut event: SerializedEvent) -> SerializedEvent {
    for upcaster in events::upcasters() {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            event = upcaster.upcast(event);
        }
    }
    event
}

#[test]
fn every_event_type_has_a_sample_at_its_current_version() {
    let present: BTreeSet<String> = samples().into_iter().map(|(stem, _)| stem).collect();
    let missing: Vec<String> = events::ALL
        .iter()
        .map(|k| format!("{}.v{}", k.event_type, k.version))
        .filter(|stem| !present.contains(stem))
        .collect();
    assert!(
        missing.is_empty(),
        "event types without a sample in schemas/events: {missing:?}"
    );
}

#[test]
fn every_sample_reads_with_the_current_code() {
    for (stem, event) in samples() {
        assert_eq!(
            stem,
            format!("{}.v{}", event.event_type, event.event_version),
            "file name matches content"
        );
        let current = events::ALL
            .iter()
            .find(|k| k.event_type == event.event_type)
            .unwrap_or_else(|| panic!("{stem}: not an event type of domain::events::ALL"));
        assert_eq!(current.aggregate_type, event.aggregate_type, "{stem}");
        let event = if event.event_version == current.version {
            event
        } else {
            assert!(
                events::SUPERSEDED
                    .iter()
                    .any(|(k, v)| k.event_type == event.event_type && *v == event.event_version),
                "{stem}: an old version must be listed in SUPERSEDED with an upcaster"
            );
            let upcast = upcast(event);
            assert_eq!(
                upcast.event_version, current.version,
                "{stem}: the upcasters bring it to the current version"
            );
            upcast
        };
        let kind = decode(&event.aggregate_type, event.payload.clone())
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(kind, *current, "{stem} decodes to its own type and version");
        // What the code writes back is what the sample says: the contract is exact.
        let reencoded = match event.aggregate_type.as_str() {
            events::CUSTOMER => serde_json::to_value(
                serde_json::from_value::<CustomerEvent>(event.payload.clone()).expect("decoded"),
            ),
            events::PRODUCT => serde_json::to_value(
                serde_json::from_value::<ProductEvent>(event.payload.clone()).expect("decoded"),
            ),
            events::ORDER => serde_json::to_value(
                serde_json::from_value::<OrderEvent>(event.payload.clone()).expect("decoded"),
            ),
            _ => serde_json::to_value(
                serde_json::from_value::<ShipmentEvent>(event.payload.clone()).expect("decoded"),
            ),
        }
        .expect("encodes");
        assert_eq!(reencoded, event.payload, "{stem} round-trips unchanged");
    }
}

#[tokio::test]
async fn an_old_customer_registered_is_upcast_on_the_cqrs_es_read_path() {
    let (_, old) = samples()
        .into_iter()
        .find(|(stem, _)| stem == "CustomerRegistered.v1")
        .expect("the v1 sample");
    assert!(
        old.payload["CustomerRegistered"]
            .get("registered_at")
            .is_none(),
        "v1 has no registered_at"
    );
    let recorded_at = old.metadata["recorded_at"].clone();

    // cqrs-es applies upcasters when it reads stored events (here: its replay stream).
    let (mut feed, mut stream) = ReplayStream::new(1);
    feed.push(Ok(old)).await.expect("feed");
    drop(feed);
    let envelope = stream
        .next::<Customer>(&events::upcasters())
        .await
        .expect("one event")
        .expect("upcast and decoded");
    match envelope.payload {
        CustomerEvent::CustomerRegistered {
            registered_at,
            name,
            ..
        } => {
            assert_eq!(
                serde_json::to_value(registered_at).expect("time"),
                recorded_at
            );
            assert_eq!(name.as_str(), "Ada Lovelace");
        }
        other => panic!("expected CustomerRegistered, got {other:?}"),
    }
}
