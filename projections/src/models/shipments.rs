//! `shipments`: each shipment with its address and progress.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::ShipmentEvent;
use futures_util::future::BoxFuture;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::write::{rows_by_key, OnConflict, Table};
use crate::decode::{Envelope, Event};
use crate::runtime::{Changed, Projection};

#[derive(Debug, Clone, Default)]
pub struct ShipmentsProjection;

const SHIPMENTS: Table = Table {
    name: "shipments",
    key: &["id"],
    columns: &[
        ("id", "uuid"),
        ("order_id", "uuid"),
        ("status", "text"),
        ("address_id", "uuid"),
        ("address_label", "text"),
        ("address_line1", "text"),
        ("address_line2", "text"),
        ("address_city", "text"),
        ("address_postal_code", "text"),
        ("address_country", "text"),
        ("carrier", "text"),
        ("tracking_number", "text"),
        ("created_at", "timestamptz"),
        ("dispatched_at", "timestamptz"),
        ("delivered_at", "timestamptz"),
        ("cancelled_at", "timestamptz"),
        ("version", "bigint"),
    ],
};

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
struct Row {
    id: Uuid,
    order_id: Uuid,
    status: String,
    address_id: Uuid,
    address_label: Option<String>,
    address_line1: String,
    address_line2: Option<String>,
    address_city: String,
    address_postal_code: String,
    address_country: String,
    carrier: Option<String>,
    tracking_number: Option<String>,
    created_at: DateTime<Utc>,
    dispatched_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    version: i64,
}

impl Projection for ShipmentsProjection {
    fn name(&self) -> &'static str {
        "shipments"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &[domain::events::SHIPMENT]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["shipments"]
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope],
    ) -> BoxFuture<'a, anyhow::Result<Changed>> {
        Box::pin(async move {
            let ids: Vec<Uuid> = events
                .iter()
                .filter_map(|e| Uuid::parse_str(&e.aggregate_id).ok())
                .collect();
            let sql = format!(
                "SELECT {} FROM shipments WHERE id = ANY($1)",
                SHIPMENTS.select_list()
            );
            let mut rows: HashMap<Uuid, Row> =
                rows_by_key(tx, &sql, ids, |row: &Row| row.id).await?;
            for envelope in events {
                let Event::Shipment(event) = &envelope.event else {
                    continue;
                };
                fold(&mut rows, envelope, event)?;
            }
            let rows: Vec<Row> = rows.into_values().collect();
            SHIPMENTS.write(tx, &rows, OnConflict::Update).await?;
            Ok(Changed::new())
        })
    }
}

fn fold(
    rows: &mut HashMap<Uuid, Row>,
    envelope: &Envelope,
    event: &ShipmentEvent,
) -> anyhow::Result<()> {
    let id = Uuid::parse_str(&envelope.aggregate_id)?;
    if let ShipmentEvent::ShipmentCreated {
        order_id,
        address_id,
        address,
        created_at,
        ..
    } = event
    {
        rows.insert(
            id,
            Row {
                id,
                order_id: order_id.as_uuid(),
                status: "PENDING".into(),
                address_id: address_id.as_uuid(),
                address_label: address.label.clone().map(String::from),
                address_line1: address.line1.to_string(),
                address_line2: address.line2.clone().map(String::from),
                address_city: address.city.to_string(),
                address_postal_code: address.postal_code.to_string(),
                address_country: address.country.to_string(),
                carrier: None,
                tracking_number: None,
                created_at: created_at.as_datetime(),
                dispatched_at: None,
                delivered_at: None,
                cancelled_at: None,
                version: envelope.sequence,
            },
        );
        return Ok(());
    }
    let row = rows
        .get_mut(&id)
        .ok_or_else(|| anyhow::anyhow!("shipment {id} changed before it was created"))?;
    match event {
        ShipmentEvent::ShipmentCreated { .. } => {}
        ShipmentEvent::ShipmentDispatched {
            carrier,
            tracking_number,
            dispatched_at,
        } => {
            row.status = "DISPATCHED".into();
            row.carrier = Some(carrier.to_string());
            row.tracking_number = Some(tracking_number.to_string());
            row.dispatched_at = Some(dispatched_at.as_datetime());
        }
        ShipmentEvent::ShipmentDelivered { delivered_at } => {
            row.status = "DELIVERED".into();
            row.delivered_at = Some(delivered_at.as_datetime());
        }
        ShipmentEvent::ShipmentCancelled { cancelled_at } => {
            row.status = "CANCELLED".into();
            row.cancelled_at = Some(cancelled_at.as_datetime());
        }
    }
    row.version = envelope.sequence;
    Ok(())
}
