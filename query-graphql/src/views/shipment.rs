//! `Shipment` over `shipments`.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, ID};
use event_store::Leases;
use projections::tables::shipments::ShipmentRow;
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::common::Address;
use super::order::{Order, OrderSet};
use crate::errors;
use crate::read_models::fetch;
use crate::scalars::DateTime;

// CONTRACT's `ShipmentStatus`: the domain's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::shipment::ShipmentStatus")]
pub enum ShipmentStatus {
    Pending,
    Dispatched,
    Delivered,
    Cancelled,
}

/// Shipments resolved side by side: their orders load together (see
/// [`OrderSet`]).
#[derive(Debug)]
pub struct ShipmentSet {
    rows: Vec<ShipmentRow>,
    orders: OnceCell<HashMap<Uuid, Order>>,
}

impl ShipmentSet {
    /// The set of `rows` and where each shipment id lies in it.
    pub fn new(rows: Vec<ShipmentRow>) -> (Arc<Self>, HashMap<Uuid, usize>) {
        let index = rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        (
            Arc::new(Self {
                rows,
                orders: OnceCell::new(),
            }),
            index,
        )
    }
}

#[derive(Debug, Clone)]
pub struct Shipment {
    set: Arc<ShipmentSet>,
    index: usize,
}

impl Shipment {
    pub fn member(set: &Arc<ShipmentSet>, index: usize) -> Self {
        Self {
            set: set.clone(),
            index,
        }
    }

    /// A shipment on its own.
    pub fn single(row: ShipmentRow) -> Self {
        Self::member(&ShipmentSet::new(vec![row]).0, 0)
    }

    fn row(&self) -> &ShipmentRow {
        &self.set.rows[self.index]
    }
}

#[Object]
impl Shipment {
    async fn id(&self) -> ID {
        ID(self.row().id.to_string())
    }

    async fn order_id(&self) -> ID {
        ID(self.row().order_id.to_string())
    }

    async fn order(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Order>> {
        let reads = ctx.data_unchecked::<Leases>();
        let orders = self
            .set
            .orders
            .get_or_try_init(|| async {
                let ids: Vec<Uuid> = self.set.rows.iter().map(|r| r.order_id).collect();
                let rows = fetch::orders(reads, &ids).await?;
                Ok::<_, sqlx::Error>(
                    OrderSet::orders(rows)
                        .into_iter()
                        .map(|o| (o.row().id, o))
                        .collect(),
                )
            })
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(orders.get(&self.row().order_id).cloned())
    }

    async fn status(&self) -> ShipmentStatus {
        self.row().status.0.into()
    }

    async fn address(&self) -> Address {
        let s = self.row();
        Address::new(
            s.address_id,
            s.address_label.as_deref(),
            &s.address_line1,
            s.address_line2.as_deref(),
            &s.address_city,
            &s.address_postal_code,
            &s.address_country,
        )
    }

    async fn carrier(&self) -> Option<&str> {
        self.row().carrier.as_deref()
    }

    async fn tracking_number(&self) -> Option<&str> {
        self.row().tracking_number.as_deref()
    }

    async fn created_at(&self) -> DateTime {
        self.row().created_at.into()
    }

    async fn dispatched_at(&self) -> Option<DateTime> {
        self.row().dispatched_at.map(Into::into)
    }

    async fn delivered_at(&self) -> Option<DateTime> {
        self.row().delivered_at.map(Into::into)
    }
}
