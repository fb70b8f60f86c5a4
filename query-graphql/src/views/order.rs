//! `Order`: the enriched order view over `orders`, `order_lines` and `order_history`.

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime as At, Utc};
use uuid::Uuid;

use super::common::{Address, Money};
use super::shipment::Shipment;
use crate::errors;
use crate::loaders::{HistoryOf, LinesOf, Loaders, ShipmentById};
use crate::scalars::DateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
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
        match self {
            Self::Placed => "PLACED",
            Self::Confirmed => "CONFIRMED",
            Self::Rejected => "REJECTED",
            Self::Paid => "PAID",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn from_db(status: &str) -> async_graphql::Result<Self> {
        Ok(match status {
            "PLACED" => Self::Placed,
            "CONFIRMED" => Self::Confirmed,
            "REJECTED" => Self::Rejected,
            "PAID" => Self::Paid,
            "SHIPPED" => Self::Shipped,
            "DELIVERED" => Self::Delivered,
            "CANCELLED" => Self::Cancelled,
            other => return Err(errors::unexpected(&format!("order status {other:?}"))),
        })
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

/// An order as GraphQL shows it.
#[derive(Debug, Clone)]
pub struct Order(pub OrderRow);

#[Object]
impl Order {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn status(&self) -> async_graphql::Result<OrderStatus> {
        OrderStatus::from_db(&self.0.status)
    }

    async fn customer(&self) -> CustomerSummary {
        CustomerSummary {
            id: ID(self.0.customer_id.to_string()),
            name: self.0.customer_name.clone(),
            email: self.0.customer_email.clone(),
        }
    }

    async fn shipping_address(&self) -> Address {
        let o = &self.0;
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
        let rows = ctx
            .data_unchecked::<Loaders>()
            .load_one(LinesOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows
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
        self.0.item_count
    }

    async fn total(&self) -> Money {
        Money::from_minor(self.0.total_minor, &self.0.currency)
    }

    async fn payment(&self) -> Option<Payment> {
        let o = &self.0;
        Some(Payment {
            amount: Money::from_minor(o.payment_amount_minor?, o.payment_currency.as_deref()?),
            method: o.payment_method.clone()?,
            reference: o.payment_reference.clone()?,
            paid_at: o.paid_at?.into(),
        })
    }

    async fn shipment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Shipment>> {
        let Some(id) = self.0.shipment_id else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<Loaders>()
            .load_one(ShipmentById(id))
            .await?
            .map(Shipment))
    }

    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StatusChange>> {
        let rows = ctx
            .data_unchecked::<Loaders>()
            .load_one(HistoryOf(self.0.id))
            .await?
            .unwrap_or_default();
        rows.iter()
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
        self.0.placed_at.into()
    }

    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }

    async fn version(&self) -> i64 {
        self.0.version
    }
}
