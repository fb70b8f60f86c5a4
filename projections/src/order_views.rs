//! The enriched order views as they change, kept for the relay (an outbox).
//!
//! While a relay is registered (its checkpoint row exists), every live `orders` batch
//! records, in its own transaction, each order it changed as the view stands after the
//! batch: the fields of GraphQL's `Order`, as JSON (the orders-stream enricher's output).
//! A batch commits once (its checkpoint is fenced), so each committed change of a view is
//! recorded exactly once, in commit order, and the log's readers are woken after the
//! commit. The relay publishes them in `seq` order and removes them in its own batch
//! transaction. A rebuild records nothing: the views it
//! passes through were published when they happened.
//!
//! The view is read from the `orders` projection's own tables only (its shipment too: the
//! projection follows the shipment's events), so it is whole at every commit.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::order::OrderStatus;
use domain::shipment::ShipmentStatus;
use domain::values::{Currency, Money as DomainMoney};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::tables::orders::{OrderHistoryRow, OrderLineRow, OrderRow};
use crate::tables::{by_keys, Status};

/// The relay's name in `projection_checkpoints` (and `oms projections status`).
pub const RELAY: &str = "relay";

/// One recorded change of an order's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewChange {
    /// Its place in the outbox: increasing in commit order.
    pub seq: i64,
    pub order_id: Uuid,
    /// The view, as JSON text.
    pub view: String,
}

/// Records the views of `changed` orders in `tx`, when a relay is registered; whether it
/// recorded any (the relay is then woken after the commit).
pub async fn record(tx: &mut PgConnection, changed: &[Uuid]) -> anyhow::Result<bool> {
    if changed.is_empty() {
        return Ok(false);
    }
    let registered: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projection_checkpoints WHERE name = $1)")
            .bind(RELAY)
            .fetch_one(&mut *tx)
            .await?;
    if !registered {
        return Ok(false);
    }
    let views = render(tx, changed).await?;
    let (ids, texts): (Vec<Uuid>, Vec<String>) = views
        .iter()
        .map(|view| Ok((view.id, serde_json::to_string(view)?)))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    sqlx::query(
        "INSERT INTO order_view_changes (order_id, view)
         SELECT * FROM UNNEST($1::uuid[], $2::text[]::json[])",
    )
    .bind(ids)
    .bind(texts)
    .execute(&mut *tx)
    .await?;
    Ok(true)
}

/// The oldest `limit` recorded changes after `seq` (from the first when `None`), in order.
pub async fn pending_after(
    tx: &mut PgConnection,
    seq: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<ViewChange>> {
    let rows: Vec<(i64, Uuid, String)> = sqlx::query_as(
        "SELECT seq, order_id, view::text FROM order_view_changes WHERE seq > $1
         ORDER BY seq LIMIT $2",
    )
    .bind(seq.unwrap_or(0))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, order_id, view)| ViewChange {
            seq,
            order_id,
            view,
        })
        .collect())
}

/// Removes the changes up to `seq` (published).
pub async fn remove_through(tx: &mut PgConnection, seq: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM order_view_changes WHERE seq <= $1")
        .bind(seq)
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

/// The views of `ids` (those that exist), as they stand in `tx`.
pub async fn render(tx: &mut PgConnection, ids: &[Uuid]) -> anyhow::Result<Vec<OrderView>> {
    let orders: Vec<OrderRow> = by_keys(sqlx::query_as(&format!(
        "SELECT {} FROM orders WHERE id = ANY($1) ORDER BY id",
        OrderRow::TABLE.select
    )))
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    let sql = format!(
        "SELECT {} FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, line_no",
        OrderLineRow::TABLE.select
    );
    let mut lines = by_order(tx, &sql, ids, |line: &OrderLineRow| line.order_id).await?;
    let sql = format!(
        "SELECT {} FROM order_history WHERE order_id = ANY($1) ORDER BY order_id, sequence",
        OrderHistoryRow::TABLE.select
    );
    let mut history = by_order(tx, &sql, ids, |change: &OrderHistoryRow| change.order_id).await?;
    Ok(orders
        .into_iter()
        .map(|order| {
            let lines = lines.remove(&order.id).unwrap_or_default();
            let history = history.remove(&order.id).unwrap_or_default();
            OrderView::new(order, lines, history)
        })
        .collect())
}

/// The rows `sql` selects for the orders `ids` (bound as `$1`), in its order, by order.
async fn by_order<R>(
    tx: &mut PgConnection,
    sql: &str,
    ids: &[Uuid],
    order_of: impl Fn(&R) -> Uuid,
) -> sqlx::Result<HashMap<Uuid, Vec<R>>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let mut out: HashMap<Uuid, Vec<R>> = HashMap::new();
    for row in by_keys(sqlx::query_as::<_, R>(sql))
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?
    {
        out.entry(order_of(&row)).or_default().push(row);
    }
    Ok(out)
}

/// GraphQL's `Order`, field for field (its `shipment` without the way back to the order).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub id: Uuid,
    pub status: Status<OrderStatus>,
    pub customer: CustomerSummary,
    pub shipping_address: Address,
    pub lines: Vec<Line>,
    pub item_count: i32,
    pub total: Money,
    pub payment: Option<Payment>,
    pub shipment: Option<Shipment>,
    pub history: Vec<StatusChange>,
    pub placed_at: Time,
    pub updated_at: Time,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerSummary {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub id: Uuid,
    pub label: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

impl Address {
    /// Where the order goes.
    fn shipping(o: &OrderRow) -> Self {
        Self {
            id: o.shipping_address_id,
            label: o.shipping_label.clone(),
            line1: o.shipping_line1.clone(),
            line2: o.shipping_line2.clone(),
            city: o.shipping_city.clone(),
            postal_code: o.shipping_postal_code.clone(),
            country: o.shipping_country.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub sku: String,
    pub product_name: String,
    pub quantity: i32,
    pub unit_price: Money,
    pub line_total: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub amount: Money,
    pub method: String,
    pub reference: String,
    pub paid_at: Time,
}

impl Payment {
    /// The order's payment, once it has one.
    fn of(o: &OrderRow) -> Option<Self> {
        Some(Self {
            amount: Money::from_minor(o.payment_amount_minor?, o.payment_currency.as_deref()?),
            method: o.payment_method.clone()?,
            reference: o.payment_reference.clone()?,
            paid_at: Time(o.paid_at?),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub status: Status<ShipmentStatus>,
    pub address: Address,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub created_at: Time,
    pub dispatched_at: Option<Time>,
    pub delivered_at: Option<Time>,
}

impl Shipment {
    /// The order's shipment, once it has one: its address is the order's shipping
    /// address, which order-fulfillment copies into it.
    fn of(o: &OrderRow) -> Option<Self> {
        Some(Self {
            id: o.shipment_id?,
            order_id: o.id,
            status: o.shipment_status?,
            address: Address::shipping(o),
            carrier: o.shipment_carrier.clone(),
            tracking_number: o.shipment_tracking_number.clone(),
            created_at: Time(o.shipment_created_at?),
            dispatched_at: o.shipment_dispatched_at.map(Time),
            delivered_at: o.shipment_delivered_at.map(Time),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    pub status: Status<OrderStatus>,
    pub at: Time,
    pub reason: Option<String>,
}

/// An amount like `"12.50"` (the currency's own number of digits) and its currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Money {
    pub amount: String,
    pub currency: String,
}

impl Money {
    fn from_minor(minor: i64, currency: &str) -> Self {
        Self {
            amount: amount(minor, currency),
            currency: currency.to_owned(),
        }
    }
}

/// An amount of minor units (the read models' `*_minor` columns) as text, with the
/// currency's own number of digits: `1250` EUR is `"12.50"`.
pub fn amount(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => DomainMoney::from_minor(minor, c).amount(),
        // The read models only hold currencies the domain accepted.
        Err(_) => format!("{}.{:02}", minor / 100, (minor % 100).abs()),
    }
}

/// A time as GraphQL's `DateTime` writes it: RFC 3339 in UTC, `2026-11-22T12:30:00.123456Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub DateTime<Utc>);

impl Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl OrderView {
    fn new(o: OrderRow, lines: Vec<OrderLineRow>, history: Vec<OrderHistoryRow>) -> Self {
        let payment = Payment::of(&o);
        let shipment = Shipment::of(&o);
        let shipping_address = Address::shipping(&o);
        Self {
            id: o.id,
            status: o.status,
            customer: CustomerSummary {
                id: o.customer_id,
                name: o.customer_name,
                email: o.customer_email,
            },
            shipping_address,
            lines: lines
                .into_iter()
                .map(|line| Line {
                    unit_price: Money::from_minor(line.unit_price_minor, &line.currency),
                    line_total: Money::from_minor(
                        line.unit_price_minor
                            .saturating_mul(i64::from(line.quantity)),
                        &line.currency,
                    ),
                    sku: line.sku,
                    product_name: line.product_name,
                    quantity: line.quantity,
                })
                .collect(),
            item_count: o.item_count,
            total: Money::from_minor(o.total_minor, &o.currency),
            payment,
            shipment,
            history: history
                .into_iter()
                .map(|change| StatusChange {
                    status: change.status,
                    at: Time(change.at),
                    reason: change.reason,
                })
                .collect(),
            placed_at: Time(o.placed_at),
            updated_at: Time(o.updated_at),
            version: o.version,
        }
    }
}
