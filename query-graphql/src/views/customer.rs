//! `Customer` over `customers` and `customer_addresses`.

use async_graphql::{Context, Object, ID};
use chrono::{DateTime as At, Utc};
use uuid::Uuid;

use super::common::Address;
use super::connections::{OrderConnection, OrderCount};
use super::order::OrderStatus;
use crate::cursor::TimeCursor;
use crate::loaders::{AddressesOf, CustomerOrders, Loaders};
use crate::pages::Page;
use crate::scalars::{page_size, DateTime};

/// The columns of [`CustomerRow`], for `SELECT`.
pub const CUSTOMER_COLUMNS: &str = "id, name, email, registered_at, order_count";

/// One row of `customers`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub registered_at: At<Utc>,
    pub order_count: i32,
}

/// One row of `customer_addresses`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AddressRow {
    pub customer_id: Uuid,
    pub address_id: Uuid,
    pub label: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Debug, Clone)]
pub struct Customer(pub CustomerRow);

#[Object]
impl Customer {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn addresses(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Address>> {
        let rows = ctx
            .data_unchecked::<Loaders>()
            .load_one(AddressesOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(rows
            .iter()
            .map(|a| {
                Address::new(
                    a.address_id,
                    a.label.as_deref(),
                    &a.line1,
                    a.line2.as_deref(),
                    &a.city,
                    &a.postal_code,
                    &a.country,
                )
            })
            .collect())
    }

    async fn registered_at(&self) -> DateTime {
        self.0.registered_at.into()
    }

    async fn order_count(&self) -> i32 {
        self.0.order_count
    }

    /// This customer's orders, newest first.
    #[graphql(complexity = "child_complexity * first.unwrap_or(20).clamp(1, 100) as usize")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        status: Option<OrderStatus>,
    ) -> async_graphql::Result<OrderConnection> {
        let first = page_size(first)?;
        let after = after.as_deref().map(TimeCursor::decode).transpose()?;
        let rows = ctx
            .data_unchecked::<Loaders>()
            .load_one(CustomerOrders {
                customer: self.0.id,
                status,
                first,
                after,
            })
            .await?
            .unwrap_or_default();
        Ok(OrderConnection::new(
            Page::of(rows, first),
            OrderCount::OfCustomer {
                customer: self.0.id,
                status,
            },
        ))
    }
}
