//! `Order`: the enriched order view over `orders`, `order_lines` and `order_history`.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime as At, Utc};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::common::{members, stored, Address, Money};
use super::shipment::{Shipment, ShipmentSet};
use crate::errors;
use crate::fetch;
use crate::scalars::DateTime;

// CONTRACT's `OrderStatus`: the domain's statuses, named as the read model stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[graphql(remote = "domain::order::OrderStatus")]
pub enum OrderStatus {
    Placed,
    Confirmed,
    Rejected,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    /// As the read model stores it.
    pub fn as_db(self) -> &'static str {
        domain::order::OrderStatus::from(self).as_str()
    }

    pub fn from_db(status: &str) -> async_graphql::Result<Self> {
        stored(status, "order status")
    }
}

/// The columns of [`OrderRow`], for `SELECT`.
pub const ORDER_COLUMNS: &str = "id, status, customer_id, customer_name, customer_email, \
    shipping_address_id, shipping_label, shipping_line1, shipping_line2, shipping_city, \
    shipping_postal_code, shipping_country, item_count, total_minor, currency, \
    payment_amount_minor, payment_currency, payment_method, payment_reference, paid_at, \
    shipment_id, placed_at, updated_at, version";

/// One row of `orders`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub status: String,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub customer_email: String,
    pub shipping_address_id: Uuid,
    pub shipping_label: Option<String>,
    pub shipping_line1: String,
    pub shipping_line2: Option<String>,
    pub shipping_city: String,
    pub shipping_postal_code: String,
    pub shipping_country: String,
    pub item_count: i32,
    pub total_minor: i64,
    pub currency: String,
    pub payment_amount_minor: Option<i64>,
    pub payment_currency: Option<String>,
    pub payment_method: Option<String>,
    pub payment_reference: Option<String>,
    pub paid_at: Option<At<Utc>>,
    pub shipment_id: Option<Uuid>,
    pub placed_at: At<Utc>,
    pub updated_at: At<Utc>,
    pub version: i64,
}

/// One row of `order_lines`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub order_id: Uuid,
    pub sku: String,
    pub product_name: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub currency: String,
}

/// One row of `order_history`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub order_id: Uuid,
    pub status: String,
    pub at: At<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct CustomerSummary {
    pub id: ID,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct OrderLine {
    pub sku: String,
    pub product_name: String,
    pub quantity: i32,
    pub unit_price: Money,
    pub line_total: Money,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Payment {
    pub amount: Money,
    pub method: String,
    pub reference: String,
    pub paid_at: DateTime,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: DateTime,
    pub reason: Option<String>,
}

/// Orders resolved side by side (a page, a shipment list's orders, a subscription's
/// batch): a nested field is loaded for all of them by the first that needs it, in one
/// statement.
#[derive(Debug)]
pub struct OrderSet {
    rows: Vec<OrderRow>,
    lines: OnceCell<HashMap<Uuid, Vec<LineRow>>>,
    history: OnceCell<HashMap<Uuid, Vec<HistoryRow>>>,
    shipments: OnceCell<(Arc<ShipmentSet>, HashMap<Uuid, usize>)>,
}

impl OrderSet {
    /// The orders of `rows`, as one set.
    pub fn orders(rows: Vec<OrderRow>) -> Vec<Order> {
        let len = rows.len();
        let set = Arc::new(Self {
            rows,
            lines: OnceCell::new(),
            history: OnceCell::new(),
            shipments: OnceCell::new(),
        });
        members(&set, len, |set, index| Order { set, index })
    }

    fn ids(&self) -> Vec<Uuid> {
        self.rows.iter().map(|r| r.id).collect()
    }
}

/// An order as GraphQL shows it: one member of its set.
#[derive(Debug, Clone)]
pub struct Order {
    set: Arc<OrderSet>,
    index: usize,
}

impl Order {
    pub fn row(&self) -> &OrderRow {
        &self.set.rows[self.index]
    }
}

#[Object]
impl Order {
    async fn id(&self) -> ID {
        ID(self.row().id.to_string())
    }

    async fn status(&self) -> async_graphql::Result<OrderStatus> {
        OrderStatus::from_db(&self.row().status)
    }

    async fn customer(&self) -> CustomerSummary {
        let o = self.row();
        CustomerSummary {
            id: ID(o.customer_id.to_string()),
            name: o.customer_name.clone(),
            email: o.customer_email.clone(),
        }
    }

    async fn shipping_address(&self) -> Address {
        let o = self.row();
        Address::new(
            o.shipping_address_id,
            o.shipping_label.as_deref(),
            &o.shipping_line1,
            o.shipping_line2.as_deref(),
            &o.shipping_city,
            &o.shipping_postal_code,
            &o.shipping_country,
        )
    }

    async fn lines(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrderLine>> {
        let pool = ctx.data_unchecked::<PgPool>();
        let all = self
            .set
            .lines
            .get_or_try_init(|| async { fetch::lines(pool, &self.set.ids()).await })
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(all
            .get(&self.row().id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|line| OrderLine {
                sku: line.sku.clone(),
                product_name: line.product_name.clone(),
                quantity: line.quantity,
                unit_price: Money::from_minor(line.unit_price_minor, &line.currency),
                line_total: Money::from_minor(
                    line.unit_price_minor
                        .saturating_mul(i64::from(line.quantity)),
                    &line.currency,
                ),
            })
            .collect())
    }

    async fn item_count(&self) -> i32 {
        self.row().item_count
    }

    async fn total(&self) -> Money {
        Money::from_minor(self.row().total_minor, &self.row().currency)
    }

    async fn payment(&self) -> Option<Payment> {
        let o = self.row();
        Some(Payment {
            amount: Money::from_minor(o.payment_amount_minor?, o.payment_currency.as_deref()?),
            method: o.payment_method.clone()?,
            reference: o.payment_reference.clone()?,
            paid_at: o.paid_at?.into(),
        })
    }

    async fn shipment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Shipment>> {
        let Some(id) = self.row().shipment_id else {
            return Ok(None);
        };
        let pool = ctx.data_unchecked::<PgPool>();
        let (set, index) = self
            .set
            .shipments
            .get_or_try_init(|| async {
                let ids: Vec<Uuid> = self.set.rows.iter().filter_map(|r| r.shipment_id).collect();
                let rows = fetch::shipments(pool, &ids).await?;
                Ok::<_, sqlx::Error>(ShipmentSet::new(rows))
            })
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(index.get(&id).map(|i| Shipment::member(set, *i)))
    }

    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StatusChange>> {
        let pool = ctx.data_unchecked::<PgPool>();
        let all = self
            .set
            .history
            .get_or_try_init(|| async { fetch::history(pool, &self.set.ids()).await })
            .await
            .map_err(|e| errors::database(&e))?;
        all.get(&self.row().id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|change| {
                Ok(StatusChange {
                    status: OrderStatus::from_db(&change.status)?,
                    at: change.at.into(),
                    reason: change.reason.clone(),
                })
            })
            .collect()
    }

    async fn placed_at(&self) -> DateTime {
        self.row().placed_at.into()
    }

    async fn updated_at(&self) -> DateTime {
        self.row().updated_at.into()
    }

    async fn version(&self) -> i64 {
        self.row().version
    }
}
