//! `customers`: customers with their addresses and how many orders they placed.

use std::collections::HashMap;

use domain::{CustomerEvent, OrderEvent};
use sqlx::PgConnection;
use uuid::Uuid;

use super::ReadModel;
use crate::decode::{Envelope, Event};
use crate::runtime::Changed;
use crate::tables::customers::{AddressRow, CustomerRow as Row};
use crate::tables::{rows_by_key, OnConflict};

#[derive(Debug, Clone, Default)]
pub struct CustomersProjection;

impl ReadModel for CustomersProjection {
    const NAME: &'static str = "customers";
    const READS: &'static [&'static str] = &[domain::events::CUSTOMER, domain::events::ORDER];
    const TABLES: &'static [&'static str] = &[Row::TABLE.name, AddressRow::TABLE.name];

    async fn fold(&self, tx: &mut PgConnection, events: &[Envelope]) -> anyhow::Result<Changed> {
        let ids: Vec<Uuid> = events
            .iter()
            .filter_map(|e| match &e.event {
                Event::Customer(_) => Uuid::parse_str(&e.aggregate_id).ok(),
                Event::Order(OrderEvent::OrderPlaced { customer_id, .. }) => {
                    Some(customer_id.as_uuid())
                }
                _ => None,
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM customers WHERE id = ANY($1)",
            Row::TABLE.select
        );
        let mut rows: HashMap<Uuid, Row> = rows_by_key(tx, &sql, ids, |row: &Row| row.id).await?;
        let mut addresses = Vec::new();
        for envelope in events {
            match &envelope.event {
                Event::Customer(event) => fold(&mut rows, &mut addresses, envelope, event)?,
                Event::Order(OrderEvent::OrderPlaced { customer_id, .. }) => {
                    if let Some(row) = rows.get_mut(&customer_id.as_uuid()) {
                        row.order_count += 1;
                    }
                }
                _ => {}
            }
        }
        let rows: Vec<Row> = rows.into_values().collect();
        Row::TABLE.write(tx, &rows, OnConflict::Update).await?;
        AddressRow::TABLE
            .write(tx, &addresses, OnConflict::Ignore)
            .await?;
        Ok(Changed::new())
    }
}

fn fold(
    rows: &mut HashMap<Uuid, Row>,
    addresses: &mut Vec<AddressRow>,
    envelope: &Envelope,
    event: &CustomerEvent,
) -> anyhow::Result<()> {
    if let CustomerEvent::CustomerRegistered {
        customer_id,
        name,
        email,
        registered_at,
    } = event
    {
        let id = customer_id.as_uuid();
        rows.insert(
            id,
            Row {
                id,
                name: name.to_string(),
                email: email.to_string(),
                registered_at: registered_at.as_datetime(),
                order_count: 0,
                version: envelope.sequence,
            },
        );
        return Ok(());
    }
    let id = Uuid::parse_str(&envelope.aggregate_id)?;
    let row = rows
        .get_mut(&id)
        .ok_or_else(|| anyhow::anyhow!("customer {id} changed before it registered"))?;
    match event {
        CustomerEvent::CustomerRegistered { .. } => {}
        CustomerEvent::CustomerRenamed { name } => row.name = name.to_string(),
        CustomerEvent::CustomerEmailChanged { email } => row.email = email.to_string(),
        CustomerEvent::CustomerAddressAdded {
            address_id,
            address,
        } => addresses.push(AddressRow {
            customer_id: id,
            address_id: address_id.as_uuid(),
            // The event's sequence keeps addresses in the order they were added.
            ordinal: i32::try_from(envelope.sequence)?,
            label: address.label.clone().map(String::from),
            line1: address.line1.to_string(),
            line2: address.line2.clone().map(String::from),
            city: address.city.to_string(),
            postal_code: address.postal_code.to_string(),
            country: address.country.to_string(),
        }),
    }
    row.version = envelope.sequence;
    Ok(())
}
