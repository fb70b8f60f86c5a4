//! Relay connections: `OrderConnection`, `CustomerConnection`, `ProductConnection`.
//!
//! `totalCount` is counted only when asked for.

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use domain::order::OrderStatus;
use event_store::Leases;
use projections::tables::products::ProductRow;
use uuid::Uuid;

use super::common::PageInfo;
use super::customer::{Customer, CustomerSet};
use super::order::Order;
use super::product::Product;
use crate::cursor::{encode_sku, TimeCursor};
use crate::errors;
use crate::read_models::pages::{self, OrdersFilter, Page};

/// What `OrderConnection.totalCount` counts.
#[derive(Debug, Clone)]
pub enum OrderCount {
    /// Every order matching a filter (`orders`).
    Filtered(OrdersFilter),
    /// A customer's orders, with a status or all (`customer.orders`), counted for the
    /// whole set of customers at once.
    OfCustomer {
        set: Arc<CustomerSet>,
        customer: Uuid,
        status: Option<OrderStatus>,
    },
}

#[derive(Debug, Clone)]
pub struct OrderConnection {
    page: Page<Order>,
    count: OrderCount,
}

impl OrderConnection {
    pub fn new(page: Page<Order>, count: OrderCount) -> Self {
        Self { page, count }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct OrderEdge {
    pub cursor: String,
    pub node: Order,
}

fn order_cursor(order: &Order) -> String {
    TimeCursor {
        at: order.row().placed_at,
        id: order.row().id,
    }
    .encode()
}

#[Object]
impl OrderConnection {
    async fn edges(&self) -> Vec<OrderEdge> {
        self.page
            .rows
            .iter()
            .map(|order| OrderEdge {
                cursor: order_cursor(order),
                node: order.clone(),
            })
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            end_cursor: self.page.rows.last().map(order_cursor),
        }
    }

    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        match &self.count {
            OrderCount::Filtered(filter) => {
                pages::orders_count(ctx.data_unchecked::<Leases>(), filter)
                    .await
                    .map_err(|e| errors::database(&e))
            }
            OrderCount::OfCustomer {
                set,
                customer,
                status,
            } => {
                set.order_count(ctx.data_unchecked::<Leases>(), *customer, *status)
                    .await
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct CustomerConnection {
    pub page: Page<Customer>,
    pub email_contains: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct CustomerEdge {
    pub cursor: String,
    pub node: Customer,
}

#[Object]
impl CustomerConnection {
    async fn edges(&self) -> Vec<CustomerEdge> {
        self.page
            .rows
            .iter()
            .map(|customer| CustomerEdge {
                cursor: customer.registered_at_cursor(),
                node: customer.clone(),
            })
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            end_cursor: self.page.rows.last().map(Customer::registered_at_cursor),
        }
    }

    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        pages::customers_count(
            ctx.data_unchecked::<Leases>(),
            self.email_contains.as_deref(),
        )
        .await
        .map_err(|e| errors::database(&e))
    }
}

#[derive(Debug, Clone)]
pub struct ProductConnection {
    pub page: Page<ProductRow>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct ProductEdge {
    pub cursor: String,
    pub node: Product,
}

#[Object]
impl ProductConnection {
    async fn edges(&self) -> Vec<ProductEdge> {
        self.page
            .rows
            .iter()
            .map(|row| ProductEdge {
                cursor: encode_sku(&row.sku),
                node: Product(row.clone()),
            })
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            end_cursor: self.page.rows.last().map(|row| encode_sku(&row.sku)),
        }
    }

    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        pages::products_count(ctx.data_unchecked::<Leases>())
            .await
            .map_err(|e| errors::database(&e))
    }
}
