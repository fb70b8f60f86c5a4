//! `orders`: the enriched order view, the way a stream enricher joins orders with
//! customers, addresses and products.
//!
//! The customer's name and email come from the projection's own `order_customers` (built
//! from customer events) and follow later renames and email changes: one set-based
//! `UPDATE` per batch for every changed customer. Product names and prices, and the
//! shipping address, are what `OrderPlaced` captured: a later product change does not
//! touch past lines. Shipment progress comes from shipment events.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{CustomerEvent, OrderEvent, ShipmentEvent};
use futures_util::future::BoxFuture;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::write::{rows_by_key, OnConflict, Table};
use crate::decode::{Envelope, Event};
use crate::runtime::{Changed, Projection};

#[derive(Debug, Clone, Default)]
pub struct OrdersProjection;

const ORDERS: Table = Table {
    name: "orders",
    key: &["id"],
    columns: &[
        ("id", "uuid"),
        ("status", "text"),
        ("customer_id", "uuid"),
        ("customer_name", "text"),
        ("customer_email", "text"),
        ("shipping_address_id", "uuid"),
        ("shipping_label", "text"),
        ("shipping_line1", "text"),
        ("shipping_line2", "text"),
        ("shipping_city", "text"),
        ("shipping_postal_code", "text"),
        ("shipping_country", "text"),
        ("item_count", "integer"),
        ("total_minor", "bigint"),
        ("currency", "text"),
        ("payment_amount_minor", "bigint"),
        ("payment_currency", "text"),
        ("payment_method", "text"),
        ("payment_reference", "text"),
        ("paid_at", "timestamptz"),
        ("shipment_id", "uuid"),
        ("shipment_status", "text"),
        ("shipment_carrier", "text"),
        ("shipment_tracking_number", "text"),
        ("placed_at", "timestamptz"),
        ("updated_at", "timestamptz"),
        ("version", "bigint"),
    ],
};

const LINES: Table = Table {
    name: "order_lines",
    key: &["order_id", "line_no"],
    columns: &[
        ("order_id", "uuid"),
        ("line_no", "integer"),
        ("sku", "text"),
        ("product_name", "text"),
        ("quantity", "integer"),
        ("unit_price_minor", "bigint"),
        ("currency", "text"),
    ],
};

const HISTORY: Table = Table {
    name: "order_history",
    key: &["order_id", "sequence"],
    columns: &[
        ("order_id", "uuid"),
        ("sequence", "bigint"),
        ("status", "text"),
        ("at", "timestamptz"),
        ("reason", "text"),
    ],
};

const CUSTOMERS: Table = Table {
    name: "order_customers",
    key: &["id"],
    columns: &[("id", "uuid"), ("name", "text"), ("email", "text")],
};

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
struct Row {
    id: Uuid,
    status: String,
    customer_id: Uuid,
    customer_name: String,
    customer_email: String,
    shipping_address_id: Uuid,
    shipping_label: Option<String>,
    shipping_line1: String,
    shipping_line2: Option<String>,
    shipping_city: String,
    shipping_postal_code: String,
    shipping_country: String,
    item_count: i32,
    total_minor: i64,
    currency: String,
    payment_amount_minor: Option<i64>,
    payment_currency: Option<String>,
    payment_method: Option<String>,
    payment_reference: Option<String>,
    paid_at: Option<DateTime<Utc>>,
    shipment_id: Option<Uuid>,
    shipment_status: Option<String>,
    shipment_carrier: Option<String>,
    shipment_tracking_number: Option<String>,
    placed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

#[derive(Debug, Serialize)]
struct LineRow {
    order_id: Uuid,
    line_no: i32,
    sku: String,
    product_name: String,
    quantity: i32,
    unit_price_minor: i64,
    currency: String,
}

#[derive(Debug, Serialize)]
struct HistoryRow {
    order_id: Uuid,
    sequence: i64,
    status: String,
    at: DateTime<Utc>,
    reason: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
struct CustomerRow {
    id: Uuid,
    name: String,
    email: String,
}

/// The batch's working set: the rows it touches, loaded once, changed in memory.
#[derive(Debug, Default)]
struct Batch {
    orders: HashMap<Uuid, Row>,
    shipment_orders: HashMap<Uuid, Uuid>,
    customers: HashMap<Uuid, CustomerRow>,
    /// Customers registered or changed in this batch: the only ones written back.
    changed_customers: Vec<Uuid>,
    lines: Vec<LineRow>,
    history: Vec<HistoryRow>,
}

impl Projection for OrdersProjection {
    fn name(&self) -> &'static str {
        "orders"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &[
            domain::events::CUSTOMER,
            domain::events::ORDER,
            domain::events::SHIPMENT,
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["orders", "order_customers", "order_lines", "order_history"]
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope],
    ) -> BoxFuture<'a, anyhow::Result<Changed>> {
        Box::pin(async move {
            let mut batch = load(tx, events).await?;
            for envelope in events {
                match &envelope.event {
                    Event::Customer(event) => batch.customer(envelope, event)?,
                    Event::Order(event) => batch.order(envelope, event)?,
                    Event::Shipment(event) => batch.shipment(envelope, event)?,
                    Event::Product(_) => {}
                }
            }
            batch.write(tx).await
        })
    }
}

/// Loads every row the batch touches: one query per table.
async fn load(tx: &mut PgConnection, events: &[Envelope]) -> anyhow::Result<Batch> {
    let (mut order_ids, mut shipment_ids, mut customer_ids) = (Vec::new(), Vec::new(), Vec::new());
    for envelope in events {
        let id = Uuid::parse_str(&envelope.aggregate_id).ok();
        match &envelope.event {
            Event::Order(OrderEvent::OrderPlaced { customer_id, .. }) => {
                customer_ids.push(customer_id.as_uuid());
            }
            Event::Order(_) => order_ids.extend(id),
            Event::Shipment(ShipmentEvent::ShipmentCreated { order_id, .. }) => {
                order_ids.push(order_id.as_uuid());
            }
            Event::Shipment(_) => shipment_ids.extend(id),
            Event::Customer(_) => customer_ids.extend(id),
            Event::Product(_) => {}
        }
    }
    let sql = format!(
        "SELECT {} FROM orders WHERE id = ANY($1) OR shipment_id = ANY($2)",
        ORDERS.select_list()
    );
    let orders: HashMap<Uuid, Row> = sqlx::query_as::<_, Row>(&sql)
        .bind(&order_ids)
        .bind(&shipment_ids)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let shipment_orders = orders
        .values()
        .filter_map(|o| Some((o.shipment_id?, o.id)))
        .collect();
    let customers = rows_by_key(
        tx,
        "SELECT id, name, email FROM order_customers WHERE id = ANY($1)",
        customer_ids,
        |row: &CustomerRow| row.id,
    )
    .await?;
    Ok(Batch {
        orders,
        shipment_orders,
        customers,
        ..Batch::default()
    })
}

impl Batch {
    fn customer(&mut self, envelope: &Envelope, event: &CustomerEvent) -> anyhow::Result<()> {
        let id = Uuid::parse_str(&envelope.aggregate_id)?;
        match event {
            CustomerEvent::CustomerRegistered { name, email, .. } => {
                self.customers.insert(
                    id,
                    CustomerRow {
                        id,
                        name: name.to_string(),
                        email: email.to_string(),
                    },
                );
                self.changed_customers.push(id);
            }
            CustomerEvent::CustomerRenamed { name } => {
                self.known_customer(id)?.name = name.to_string();
                self.changed_customers.push(id);
            }
            CustomerEvent::CustomerEmailChanged { email } => {
                self.known_customer(id)?.email = email.to_string();
                self.changed_customers.push(id);
            }
            CustomerEvent::CustomerAddressAdded { .. } => {}
        }
        Ok(())
    }

    fn known_customer(&mut self, id: Uuid) -> anyhow::Result<&mut CustomerRow> {
        self.customers
            .get_mut(&id)
            .ok_or_else(|| anyhow::anyhow!("customer {id} changed before it registered"))
    }

    fn order(&mut self, envelope: &Envelope, event: &OrderEvent) -> anyhow::Result<()> {
        let id = Uuid::parse_str(&envelope.aggregate_id)?;
        if let OrderEvent::OrderPlaced {
            customer_id,
            shipping_address_id,
            shipping_address: a,
            lines,
            total,
            placed_at,
            ..
        } = event
        {
            let customer = self.customers.get(&customer_id.as_uuid()).ok_or_else(|| {
                anyhow::anyhow!("order {id} placed for unknown customer {customer_id}")
            })?;
            let at = placed_at.as_datetime();
            self.orders.insert(
                id,
                Row {
                    id,
                    status: "PLACED".into(),
                    customer_id: customer.id,
                    customer_name: customer.name.clone(),
                    customer_email: customer.email.clone(),
                    shipping_address_id: shipping_address_id.as_uuid(),
                    shipping_label: a.label.clone().map(String::from),
                    shipping_line1: a.line1.to_string(),
                    shipping_line2: a.line2.clone().map(String::from),
                    shipping_city: a.city.to_string(),
                    shipping_postal_code: a.postal_code.to_string(),
                    shipping_country: a.country.to_string(),
                    item_count: lines
                        .iter()
                        .map(|l| i32::try_from(l.quantity.get()).unwrap_or(i32::MAX))
                        .sum(),
                    total_minor: total.minor(),
                    currency: total.currency().to_string(),
                    payment_amount_minor: None,
                    payment_currency: None,
                    payment_method: None,
                    payment_reference: None,
                    paid_at: None,
                    shipment_id: None,
                    shipment_status: None,
                    shipment_carrier: None,
                    shipment_tracking_number: None,
                    placed_at: at,
                    updated_at: at,
                    version: envelope.sequence,
                },
            );
            for (n, line) in lines.iter().enumerate() {
                self.lines.push(LineRow {
                    order_id: id,
                    line_no: i32::try_from(n)?,
                    sku: line.sku.to_string(),
                    product_name: line.product_name.to_string(),
                    quantity: i32::try_from(line.quantity.get())?,
                    unit_price_minor: line.unit_price.minor(),
                    currency: line.unit_price.currency().to_string(),
                });
            }
            self.history.push(HistoryRow {
                order_id: id,
                sequence: envelope.sequence,
                status: "PLACED".into(),
                at,
                reason: None,
            });
            return Ok(());
        }
        let row = self
            .orders
            .get_mut(&id)
            .ok_or_else(|| anyhow::anyhow!("order {id} changed before it was placed"))?;
        let (status, at, reason) = match event {
            OrderEvent::OrderPlaced { .. } => return Ok(()),
            OrderEvent::OrderConfirmed { at } => ("CONFIRMED", at, None),
            OrderEvent::OrderRejected { reason, at, .. } => ("REJECTED", at, Some(reason.clone())),
            OrderEvent::OrderPaid {
                amount,
                method,
                reference,
                paid_at,
            } => {
                row.payment_amount_minor = Some(amount.minor());
                row.payment_currency = Some(amount.currency().to_string());
                row.payment_method = Some(method.to_string());
                row.payment_reference = Some(reference.to_string());
                row.paid_at = Some(paid_at.as_datetime());
                ("PAID", paid_at, None)
            }
            OrderEvent::OrderCancelled { reason, at } => {
                ("CANCELLED", at, Some(reason.to_string()))
            }
            OrderEvent::OrderShipped { at, .. } => ("SHIPPED", at, None),
            OrderEvent::OrderDelivered { at } => ("DELIVERED", at, None),
        };
        row.status = status.into();
        row.updated_at = at.as_datetime();
        row.version = envelope.sequence;
        self.history.push(HistoryRow {
            order_id: id,
            sequence: envelope.sequence,
            status: status.into(),
            at: at.as_datetime(),
            reason,
        });
        Ok(())
    }

    fn shipment(&mut self, envelope: &Envelope, event: &ShipmentEvent) -> anyhow::Result<()> {
        let shipment_id = Uuid::parse_str(&envelope.aggregate_id)?;
        let order_id = match event {
            ShipmentEvent::ShipmentCreated { order_id, .. } => {
                self.shipment_orders.insert(shipment_id, order_id.as_uuid());
                order_id.as_uuid()
            }
            _ => *self.shipment_orders.get(&shipment_id).ok_or_else(|| {
                anyhow::anyhow!("shipment {shipment_id} changed before it was created")
            })?,
        };
        let row = self
            .orders
            .get_mut(&order_id)
            .ok_or_else(|| anyhow::anyhow!("shipment for unknown order {order_id}"))?;
        match event {
            ShipmentEvent::ShipmentCreated { .. } => {
                row.shipment_id = Some(shipment_id);
                row.shipment_status = Some("PENDING".into());
            }
            ShipmentEvent::ShipmentDispatched {
                carrier,
                tracking_number,
                ..
            } => {
                row.shipment_status = Some("DISPATCHED".into());
                row.shipment_carrier = Some(carrier.to_string());
                row.shipment_tracking_number = Some(tracking_number.to_string());
            }
            ShipmentEvent::ShipmentDelivered { .. } => {
                row.shipment_status = Some("DELIVERED".into());
            }
            ShipmentEvent::ShipmentCancelled { .. } => {
                row.shipment_status = Some("CANCELLED".into());
            }
        }
        Ok(())
    }

    /// Writes the batch back; returns the ids of every order it changed.
    async fn write(mut self, tx: &mut PgConnection) -> anyhow::Result<Changed> {
        self.changed_customers.sort_unstable();
        self.changed_customers.dedup();
        // Only customers this batch registered or changed: rewriting unchanged rows would
        // leave a dead version per batch behind, which nothing vacuums during a rebuild.
        let changed: Vec<CustomerRow> = self
            .changed_customers
            .iter()
            .filter_map(|id| self.customers.remove(id))
            .collect();
        CUSTOMERS.write(tx, &changed, OnConflict::Update).await?;
        let orders: Vec<Row> = self.orders.into_values().collect();
        ORDERS.write(tx, &orders, OnConflict::Update).await?;
        let mut touched: Changed = orders.iter().map(|o| o.id).collect();
        LINES.write(tx, &self.lines, OnConflict::Ignore).await?;
        HISTORY.write(tx, &self.history, OnConflict::Ignore).await?;
        if !changed.is_empty() {
            // Enrichment follows changes: every order of every changed customer, whether
            // or not this batch touched it, in one statement.
            let ids: Vec<Uuid> = changed.iter().map(|c| c.id).collect();
            let names: Vec<&str> = changed.iter().map(|c| c.name.as_str()).collect();
            let emails: Vec<&str> = changed.iter().map(|c| c.email.as_str()).collect();
            let renamed: Vec<Uuid> = sqlx::query_scalar(
                "UPDATE orders o SET customer_name = c.name, customer_email = c.email
                 FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS c(id, name, email)
                 WHERE o.customer_id = c.id AND (o.customer_name, o.customer_email) IS DISTINCT FROM (c.name, c.email)
                 RETURNING o.id",
            )
            .bind(ids)
            .bind(names)
            .bind(emails)
            .fetch_all(&mut *tx)
            .await?;
            touched.extend(renamed);
            touched.sort_unstable();
            touched.dedup();
        }
        Ok(touched)
    }
}
