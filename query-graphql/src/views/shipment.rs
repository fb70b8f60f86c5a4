//! `Shipment` over `shipments`.

use async_graphql::{Context, Enum, Object, ID};
use chrono::{DateTime as At, Utc};
use uuid::Uuid;

use super::common::Address;
use super::order::Order;
use crate::errors;
use crate::loaders::{Loaders, OrderById};
use crate::scalars::DateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
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

#[derive(Debug, Clone)]
pub struct Shipment(pub ShipmentRow);

#[Object]
impl Shipment {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn order_id(&self) -> ID {
        ID(self.0.order_id.to_string())
    }

    async fn order(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Order>> {
        Ok(ctx
            .data_unchecked::<Loaders>()
            .load_one(OrderById(self.0.order_id))
            .await?
            .map(Order))
    }

    async fn status(&self) -> async_graphql::Result<ShipmentStatus> {
        Ok(match self.0.status.as_str() {
            "PENDING" => ShipmentStatus::Pending,
            "DISPATCHED" => ShipmentStatus::Dispatched,
            "DELIVERED" => ShipmentStatus::Delivered,
            "CANCELLED" => ShipmentStatus::Cancelled,
            other => return Err(errors::unexpected(&format!("shipment status {other:?}"))),
        })
    }

    async fn address(&self) -> Address {
        let s = &self.0;
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
        self.0.carrier.as_deref()
    }

    async fn tracking_number(&self) -> Option<&str> {
        self.0.tracking_number.as_deref()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    async fn dispatched_at(&self) -> Option<DateTime> {
        self.0.dispatched_at.map(Into::into)
    }

    async fn delivered_at(&self) -> Option<DateTime> {
        self.0.delivered_at.map(Into::into)
    }
}
