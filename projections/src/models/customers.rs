//! `customers`: customers with their addresses and how many orders they placed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{CustomerEvent, OrderEvent};
use futures_util::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;

use super::write::rows_by_key;
use crate::decode::{Envelope, Event};
use crate::runtime::Projection;

#[derive(Debug, Clone, Default)]
pub struct CustomersProjection;

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    email: String,
    registered_at: DateTime<Utc>,
    order_count: i32,
    version: i64,
}

/// A new `customer_addresses` row.
#[derive(Debug)]
struct AddressRow {
    customer_id: Uuid,
    address_id: Uuid,
    ordinal: i32,
    address: domain::values::Address,
}

impl Projection for CustomersProjection {
    fn name(&self) -> &'static str {
        "customers"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &[domain::events::CUSTOMER, domain::events::ORDER]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["customers", "customer_addresses"]
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
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
            let mut rows: HashMap<Uuid, Row> = rows_by_key(
                tx,
                "SELECT id, name, email, registered_at, order_count, version FROM customers WHERE id = ANY($1)",
                ids,
                |row: &Row| row.id,
            )
            .await?;
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
            upsert(tx, rows.into_values().collect()).await?;
            insert_addresses(tx, addresses).await
        })
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
            address: address.clone(),
        }),
    }
    row.version = envelope.sequence;
    Ok(())
}

async fn upsert(tx: &mut PgConnection, rows: Vec<Row>) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let (mut ids, mut names, mut emails, mut registered, mut counts, mut versions) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for row in rows {
        ids.push(row.id);
        names.push(row.name);
        emails.push(row.email);
        registered.push(row.registered_at);
        counts.push(row.order_count);
        versions.push(row.version);
    }
    sqlx::query(
        "INSERT INTO customers (id, name, email, registered_at, order_count, version)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::bigint[])
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email,
             registered_at = excluded.registered_at, order_count = excluded.order_count,
             version = excluded.version",
    )
    .bind(ids)
    .bind(names)
    .bind(emails)
    .bind(registered)
    .bind(counts)
    .bind(versions)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn insert_addresses(tx: &mut PgConnection, rows: Vec<AddressRow>) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let (mut customers, mut ids, mut ordinals, mut labels) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut line1s, mut line2s, mut cities, mut postal_codes, mut countries) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        let a = row.address;
        customers.push(row.customer_id);
        ids.push(row.address_id);
        ordinals.push(row.ordinal);
        labels.push(a.label.map(String::from));
        line1s.push(String::from(a.line1));
        line2s.push(a.line2.map(String::from));
        cities.push(String::from(a.city));
        postal_codes.push(String::from(a.postal_code));
        countries.push(a.country.to_string());
    }
    sqlx::query(
        "INSERT INTO customer_addresses (customer_id, address_id, ordinal, label, line1, line2, city, postal_code, country)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::text[], $9::text[])
         ON CONFLICT (customer_id, address_id) DO NOTHING",
    )
    .bind(customers)
    .bind(ids)
    .bind(ordinals)
    .bind(labels)
    .bind(line1s)
    .bind(line2s)
    .bind(cities)
    .bind(postal_codes)
    .bind(countries)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
