//! `shipments`: each shipment with its address and progress.

use std::collections::HashMap;

use domain::ShipmentEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::ReadModel;
use crate::decode::{Envelope, Event};
use crate::runtime::Changed;
use crate::tables::shipments::ShipmentRow as Row;
use crate::tables::{rows_by_key, OnConflict, Status};

#[derive(Debug, Clone, Default)]
pub struct ShipmentsProjection;

impl ReadModel for ShipmentsProjection {
    const NAME: &'static str = "shipments";
    const READS: &'static [&'static str] = &[domain::events::SHIPMENT];
    const TABLES: &'static [&'static str] = &[Row::TABLE.name];

    async fn fold(&self, tx: &mut PgConnection, events: &[Envelope]) -> anyhow::Result<Changed> {
        let ids: Vec<Uuid> = events
            .iter()
            .filter_map(|e| Uuid::parse_str(&e.aggregate_id).ok())
            .collect();
        let sql = format!(
            "SELECT {} FROM shipments WHERE id = ANY($1)",
            Row::TABLE.select
        );
        let mut rows: HashMap<Uuid, Row> = rows_by_key(tx, &sql, ids, |row: &Row| row.id).await?;
        for envelope in events {
            let Event::Shipment(event) = &envelope.event else {
                continue;
            };
            fold(&mut rows, envelope, event)?;
        }
        let rows: Vec<Row> = rows.into_values().collect();
        Row::TABLE.write(tx, &rows, OnConflict::Update).await?;
        Ok(Changed::new())
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
                status: Status(event.status()),
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
            row.carrier = Some(carrier.to_string());
            row.tracking_number = Some(tracking_number.to_string());
            row.dispatched_at = Some(dispatched_at.as_datetime());
        }
        ShipmentEvent::ShipmentDelivered { delivered_at } => {
            row.delivered_at = Some(delivered_at.as_datetime());
        }
        ShipmentEvent::ShipmentCancelled { cancelled_at } => {
            row.cancelled_at = Some(cancelled_at.as_datetime());
        }
    }
    row.status = Status(event.status());
    row.version = envelope.sequence;
    Ok(())
}
