//! `Order`: the enriched order view over `orders`, `order_lines` and `order_history`.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use event_store::Leases;
use projections::tables::orders::{OrderHistoryRow, OrderLineRow, OrderRow};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::common::{members, Address, Money};
use super::shipment::{Shipment, ShipmentSet};
use crate::errors;
use crate::read_models::fetch;
use crate::scalars::DateTime;

// CONTRACT's `OrderStatus`: the domain's statuses.
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
    lines: OnceCell<HashMap<Uuid, Vec<OrderLineRow>>>,
    history: OnceCell<HashMap<Uuid, Vec<OrderHistoryRow>>>,
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

    async fn status(&self) -> OrderStatus {
        self.row().status.0.into()
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
        let reads = ctx.data_unchecked::<Leases>();
        let all = self
            .set
            .lines
            .get_or_try_init(|| async { fetch::lines(reads, &self.set.ids()).await })
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
        let reads = ctx.data_unchecked::<Leases>();
        let (set, index) = self
            .set
            .shipments
            .get_or_try_init(|| async {
                let ids: Vec<Uuid> = self.set.rows.iter().filter_map(|r| r.shipment_id).collect();
                let rows = fetch::shipments(reads, &ids).await?;
                Ok::<_, sqlx::Error>(ShipmentSet::new(rows))
            })
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(index.get(&id).map(|i| Shipment::member(set, *i)))
    }

    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StatusChange>> {
        let reads = ctx.data_unchecked::<Leases>();
        let all = self
            .set
            .history
            .get_or_try_init(|| async { fetch::history(reads, &self.set.ids()).await })
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(all
            .get(&self.row().id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|change| StatusChange {
                status: change.status.0.into(),
                at: change.at.into(),
                reason: change.reason.clone(),
            })
            .collect())
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
