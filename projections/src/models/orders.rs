//! `orders`: the enriched order view, the way a stream enricher joins orders with
//! customers, addresses and products.
//!
//! The customer's name and email come from the projection's own `order_customers` (built
//! from customer events) and follow later renames and email changes: one set-based
//! `UPDATE` per batch for every changed customer. Product names and prices, and the
//! shipping address, are what `OrderPlaced` captured: a later product change does not
//! touch past lines. Shipment progress comes from shipment events.

use std::collections::HashMap;

use domain::order::{OrderLine, StatusChange};
use domain::values::{Address, AddressId, CustomerId, Money};
use domain::{CustomerEvent, OrderEvent, ShipmentEvent};
use sqlx::PgConnection;
use uuid::Uuid;

use super::ReadModel;
use crate::decode::{Envelope, Event};
use crate::runtime::Changed;
use crate::tables::orders::{OrderCustomerRow, OrderHistoryRow, OrderLineRow, OrderRow};
use crate::tables::{by_keys, rows_by_key, OnConflict, Status};

#[derive(Debug, Clone, Default)]
pub struct OrdersProjection;

/// What `OrderPlaced` says of the order's row and lines.
struct Placed<'e> {
    customer_id: CustomerId,
    address_id: AddressId,
    address: &'e Address,
    lines: &'e [OrderLine],
    total: &'e Money,
}

/// The batch's working set: the rows it touches, loaded once, changed in memory.
#[derive(Debug, Default)]
struct Batch {
    orders: HashMap<Uuid, OrderRow>,
    shipment_orders: HashMap<Uuid, Uuid>,
    customers: HashMap<Uuid, OrderCustomerRow>,
    /// Customers registered or changed in this batch: the only ones written back.
    changed_customers: Vec<Uuid>,
    lines: Vec<OrderLineRow>,
    history: Vec<OrderHistoryRow>,
}

impl ReadModel for OrdersProjection {
    const NAME: &'static str = "orders";
    const READS: &'static [&'static str] = &[
        domain::events::CUSTOMER,
        domain::events::ORDER,
        domain::events::SHIPMENT,
    ];
    const TABLES: &'static [&'static str] = &[
        OrderRow::TABLE.name,
        OrderCustomerRow::TABLE.name,
        OrderLineRow::TABLE.name,
        OrderHistoryRow::TABLE.name,
    ];
    const KEEPS_VIEWS: bool = true;

    async fn fold(&self, tx: &mut PgConnection, events: &[Envelope]) -> anyhow::Result<Changed> {
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
        OrderRow::TABLE.select
    );
    let orders: HashMap<Uuid, OrderRow> = by_keys(sqlx::query_as::<_, OrderRow>(&sql))
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
    let sql = format!(
        "SELECT {} FROM order_customers WHERE id = ANY($1)",
        OrderCustomerRow::TABLE.select
    );
    let customers = rows_by_key(tx, &sql, customer_ids, |row: &OrderCustomerRow| row.id).await?;
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
                    OrderCustomerRow {
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

    fn known_customer(&mut self, id: Uuid) -> anyhow::Result<&mut OrderCustomerRow> {
        self.customers
            .get_mut(&id)
            .ok_or_else(|| anyhow::anyhow!("customer {id} changed before it registered"))
    }

    fn order(&mut self, envelope: &Envelope, event: &OrderEvent) -> anyhow::Result<()> {
        let id = Uuid::parse_str(&envelope.aggregate_id)?;
        let change = event.status_change();
        if let OrderEvent::OrderPlaced {
            customer_id,
            shipping_address_id,
            shipping_address,
            lines,
            total,
            ..
        } = event
        {
            let placed = Placed {
                customer_id: *customer_id,
                address_id: *shipping_address_id,
                address: shipping_address,
                lines,
                total,
            };
            self.placed(id, envelope.sequence, &placed, &change)?;
        } else {
            let row = self
                .orders
                .get_mut(&id)
                .ok_or_else(|| anyhow::anyhow!("order {id} changed before it was placed"))?;
            if let OrderEvent::OrderPaid {
                amount,
                method,
                reference,
                paid_at,
            } = event
            {
                row.payment_amount_minor = Some(amount.minor());
                row.payment_currency = Some(amount.currency().to_string());
                row.payment_method = Some(method.to_string());
                row.payment_reference = Some(reference.to_string());
                row.paid_at = Some(paid_at.as_datetime());
            }
            row.status = Status(change.status);
            row.updated_at = change.at.as_datetime();
            row.version = envelope.sequence;
        }
        self.history.push(OrderHistoryRow {
            order_id: id,
            sequence: envelope.sequence,
            status: Status(change.status),
            at: change.at.as_datetime(),
            reason: change.reason,
        });
        Ok(())
    }

    /// A new order's row and lines, enriched with its customer as this batch knows them.
    fn placed(
        &mut self,
        id: Uuid,
        version: i64,
        placed: &Placed<'_>,
        change: &StatusChange,
    ) -> anyhow::Result<()> {
        let customer = self
            .customers
            .get(&placed.customer_id.as_uuid())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "order {id} placed for unknown customer {}",
                    placed.customer_id
                )
            })?;
        let a = placed.address;
        let at = change.at.as_datetime();
        self.orders.insert(
            id,
            OrderRow {
                id,
                status: Status(change.status),
                customer_id: customer.id,
                customer_name: customer.name.clone(),
                customer_email: customer.email.clone(),
                shipping_address_id: placed.address_id.as_uuid(),
                shipping_label: a.label.clone().map(String::from),
                shipping_line1: a.line1.to_string(),
                shipping_line2: a.line2.clone().map(String::from),
                shipping_city: a.city.to_string(),
                shipping_postal_code: a.postal_code.to_string(),
                shipping_country: a.country.to_string(),
                item_count: placed
                    .lines
                    .iter()
                    .map(|l| i32::try_from(l.quantity.get()).unwrap_or(i32::MAX))
                    .sum(),
                total_minor: placed.total.minor(),
                currency: placed.total.currency().to_string(),
                payment_amount_minor: None,
                payment_currency: None,
                payment_method: None,
                payment_reference: None,
                paid_at: None,
                shipment_id: None,
                shipment_status: None,
                shipment_carrier: None,
                shipment_tracking_number: None,
                shipment_created_at: None,
                shipment_dispatched_at: None,
                shipment_delivered_at: None,
                placed_at: at,
                updated_at: at,
                version,
            },
        );
        for (n, line) in placed.lines.iter().enumerate() {
            self.lines.push(OrderLineRow {
                order_id: id,
                line_no: i32::try_from(n)?,
                sku: line.sku.to_string(),
                product_name: line.product_name.to_string(),
                quantity: i32::try_from(line.quantity.get())?,
                unit_price_minor: line.unit_price.minor(),
                currency: line.unit_price.currency().to_string(),
            });
        }
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
            ShipmentEvent::ShipmentCreated { created_at, .. } => {
                row.shipment_id = Some(shipment_id);
                row.shipment_created_at = Some(created_at.as_datetime());
            }
            ShipmentEvent::ShipmentDispatched {
                carrier,
                tracking_number,
                dispatched_at,
            } => {
                row.shipment_carrier = Some(carrier.to_string());
                row.shipment_tracking_number = Some(tracking_number.to_string());
                row.shipment_dispatched_at = Some(dispatched_at.as_datetime());
            }
            ShipmentEvent::ShipmentDelivered { delivered_at } => {
                row.shipment_delivered_at = Some(delivered_at.as_datetime());
            }
            ShipmentEvent::ShipmentCancelled { .. } => {}
        }
        row.shipment_status = Some(Status(event.status()));
        Ok(())
    }

    /// Writes the batch back; returns the ids of every order it changed.
    async fn write(mut self, tx: &mut PgConnection) -> anyhow::Result<Changed> {
        self.changed_customers.sort_unstable();
        self.changed_customers.dedup();
        // Only customers this batch registered or changed: rewriting unchanged rows would
        // leave a dead version per batch behind, which nothing vacuums during a rebuild.
        let changed: Vec<OrderCustomerRow> = self
            .changed_customers
            .iter()
            .filter_map(|id| self.customers.remove(id))
            .collect();
        OrderCustomerRow::TABLE
            .write(tx, &changed, OnConflict::Update)
            .await?;
        let orders: Vec<OrderRow> = self.orders.into_values().collect();
        OrderRow::TABLE
            .write(tx, &orders, OnConflict::Update)
            .await?;
        let mut touched: Changed = orders.iter().map(|o| o.id).collect();
        OrderLineRow::TABLE
            .write(tx, &self.lines, OnConflict::Ignore)
            .await?;
        OrderHistoryRow::TABLE
            .write(tx, &self.history, OnConflict::Ignore)
            .await?;
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
