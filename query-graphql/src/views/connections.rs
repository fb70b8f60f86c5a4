//! Relay connections: `OrderConnection`, `CustomerConnection`, `ProductConnection`.
//!
//! `totalCount` is counted only when asked for.

use async_graphql::{Context, Object, SimpleObject};
use uuid::Uuid;

use super::common::PageInfo;
use super::customer::{Customer, CustomerRow};
use super::order::{Order, OrderRow, OrderStatus};
use super::product::{Product, ProductRow};
use crate::cursor::{encode_sku, TimeCursor};
use crate::errors;
use crate::loaders::{CustomerOrderCount, Loaders};
use crate::pages::{self, OrdersFilter, Page};
use crate::schema::ReadPool;

/// What `OrderConnection.totalCount` counts.
#[derive(Debug, Clone)]
pub enum OrderCount {
    /// Every order matching a filter (`orders`).
    Filtered(OrdersFilter),
    /// A customer's orders, with a status or all (`customer.orders`).
    OfCustomer {
        customer: Uuid,
        status: Option<OrderStatus>,
    },
}

#[derive(Debug, Clone)]
pub struct OrderConnection {
    page: Page<OrderRow>,
    count: OrderCount,
}

impl OrderConnection {
    pub fn new(page: Page<OrderRow>, count: OrderCount) -> Self {
        Self { page, count }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct OrderEdge {
    pub cursor: String,
    pub node: Order,
}

fn order_cursor(row: &OrderRow) -> String {
    TimeCursor {
        at: row.placed_at,
        id: row.id,
    }
    .encode()
}

#[Object]
impl OrderConnection {
    async fn edges(&self) -> Vec<OrderEdge> {
        self.page
            .rows
            .iter()
            .map(|row| OrderEdge {
                cursor: order_cursor(row),
                node: Order(row.clone()),
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
                pages::orders_count(ctx.data_unchecked::<ReadPool>(), filter)
                    .await
                    .map_err(|e| errors::database(&e))
            }
            OrderCount::OfCustomer { customer, status } => Ok(ctx
                .data_unchecked::<Loaders>()
                .load_one(CustomerOrderCount {
                    customer: *customer,
                    status: *status,
                })
                .await?
                .unwrap_or(0)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CustomerConnection {
    pub page: Page<CustomerRow>,
    pub email_contains: Option<String>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct CustomerEdge {
    pub cursor: String,
    pub node: Customer,
}

fn customer_cursor(row: &CustomerRow) -> String {
    TimeCursor {
        at: row.registered_at,
        id: row.id,
    }
    .encode()
}

#[Object]
impl CustomerConnection {
    async fn edges(&self) -> Vec<CustomerEdge> {
        self.page
            .rows
            .iter()
            .map(|row| CustomerEdge {
                cursor: customer_cursor(row),
                node: Customer(row.clone()),
            })
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next,
            end_cursor: self.page.rows.last().map(customer_cursor),
        }
    }

    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        pages::customers_count(
            ctx.data_unchecked::<ReadPool>(),
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
        pages::products_count(ctx.data_unchecked::<ReadPool>())
            .await
            .map_err(|e| errors::database(&e))
    }
}
