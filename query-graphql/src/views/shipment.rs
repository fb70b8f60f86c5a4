//! `Shipment` over `shipments`.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, ID};
use chrono::{DateTime as At, Utc};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::common::{stored, Address};
use super::order::{Order, OrderSet};
use crate::errors;
use crate::fetch;
use crate::scalars::DateTime;

// CONTRACT's `ShipmentStatus`: the domain's statuses, named as the read model stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::shipment::ShipmentStatus")]
pub enum ShipmentStatus {
    Pending,
    Dispatched,
    Delivered,
    Cancelled,
}

/// The columns of [`ShipmentRow`], for `SELECT`.
pub const SHIPMENT_COLUMNS: &str = "id, order_id, status, address_id, address_label, \
    address_line1, address_line2, address_city, address_postal_code, address_country, \
    carrier, tracking_number, created_at, dispatched_at, delivered_at";

/// One row of `shipments`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShipmentRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub status: String,
    pub address_id: Uuid,
    pub address_label: Option<String>,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub address_city: String,
    pub address_postal_code: String,
    pub address_country: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub created_at: At<Utc>,
    pub dispatched_at: Option<At<Utc>>,
    pub delivered_at: Option<At<Utc>>,
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
        let pool = ctx.data_unchecked::<PgPool>();
        let orders = self
            .set
            .orders
            .get_or_try_init(|| async {
                let ids: Vec<Uuid> = self.set.rows.iter().map(|r| r.order_id).collect();
                let rows = fetch::orders(pool, &ids).await?;
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

    async fn status(&self) -> async_graphql::Result<ShipmentStatus> {
        stored(&self.row().status, "shipment status")
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
