//! DataLoaders: every nested field reads through these, so a page of N orders costs one
//! statement per kind of field asked for, not one per order.
//!
//! One loader, [`ReadModels`], answers several key types. It is shared by all requests
//! and keeps no cache: concurrent requests' keys batch together, and nothing served can
//! be older than the read model.

use std::collections::HashMap;
use std::hash::Hash;

use async_graphql::dataloader::{DataLoader, Loader};
use sqlx::PgPool;
use uuid::Uuid;

use crate::cursor::TimeCursor;
use crate::errors;
use crate::pages;
use crate::views::customer::{AddressRow, CustomerRow, CUSTOMER_COLUMNS};
use crate::views::order::{HistoryRow, LineRow, OrderRow, OrderStatus, ORDER_COLUMNS};
use crate::views::shipment::{ShipmentRow, SHIPMENT_COLUMNS};

/// The loader as resolvers find it in the schema's data.
pub type Loaders = DataLoader<ReadModels>;

/// Batches reads of the read-model tables.
#[derive(Debug, Clone)]
pub struct ReadModels {
    pool: PgPool,
}

impl ReadModels {
    pub fn loader(pool: PgPool) -> Loaders {
        DataLoader::new(Self { pool }, tokio::spawn)
    }
}

type Loaded<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderById(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinesOf(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryOf(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShipmentById(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerById(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressesOf(pub Uuid);

/// A page of one customer's orders (up to `first + 1` rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerOrders {
    pub customer: Uuid,
    pub status: Option<OrderStatus>,
    pub first: i64,
    pub after: Option<TimeCursor>,
}

/// How many orders a customer has (with a status, when given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerOrderCount {
    pub customer: Uuid,
    pub status: Option<OrderStatus>,
}

fn ids<K: Copy>(keys: &[K], id: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| id(*k)).collect()
}

/// Rows grouped under the key built from each row.
fn grouped<K: Hash + Eq, R>(rows: Vec<R>, key: impl Fn(&R) -> K) -> HashMap<K, Vec<R>> {
    let mut out: HashMap<K, Vec<R>> = HashMap::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    out
}

fn failed(error: &sqlx::Error) -> async_graphql::Error {
    errors::database(error)
}

impl Loader<OrderById> for ReadModels {
    type Value = OrderRow;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[OrderById]) -> Loaded<OrderById, OrderRow> {
        let rows: Vec<OrderRow> = sqlx::query_as(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE id = ANY($1)"
        ))
        .bind(ids(keys, |k| k.0))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| failed(&e))?;
        Ok(rows.into_iter().map(|r| (OrderById(r.id), r)).collect())
    }
}

impl Loader<LinesOf> for ReadModels {
    type Value = Vec<LineRow>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[LinesOf]) -> Loaded<LinesOf, Vec<LineRow>> {
        let rows: Vec<LineRow> = sqlx::query_as(
            "SELECT order_id, sku, product_name, quantity, unit_price_minor, currency
             FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, line_no",
        )
        .bind(ids(keys, |k| k.0))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| failed(&e))?;
        Ok(grouped(rows, |r| LinesOf(r.order_id)))
    }
}

impl Loader<HistoryOf> for ReadModels {
    type Value = Vec<HistoryRow>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[HistoryOf]) -> Loaded<HistoryOf, Vec<HistoryRow>> {
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT order_id, status, at, reason
             FROM order_history WHERE order_id = ANY($1) ORDER BY order_id, sequence",
        )
        .bind(ids(keys, |k| k.0))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| failed(&e))?;
        Ok(grouped(rows, |r| HistoryOf(r.order_id)))
    }
}

impl Loader<ShipmentById> for ReadModels {
    type Value = ShipmentRow;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ShipmentById]) -> Loaded<ShipmentById, ShipmentRow> {
        let rows: Vec<ShipmentRow> = sqlx::query_as(&format!(
            "SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE id = ANY($1)"
        ))
        .bind(ids(keys, |k| k.0))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| failed(&e))?;
        Ok(rows.into_iter().map(|r| (ShipmentById(r.id), r)).collect())
    }
}

impl Loader<CustomerById> for ReadModels {
    type Value = CustomerRow;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[CustomerById]) -> Loaded<CustomerById, CustomerRow> {
        let rows: Vec<CustomerRow> = sqlx::query_as(&format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ANY($1)"
        ))
        .bind(ids(keys, |k| k.0))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| failed(&e))?;
        Ok(rows.into_iter().map(|r| (CustomerById(r.id), r)).collect())
    }
}

impl Loader<AddressesOf> for ReadModels {
    type Value = Vec<AddressRow>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[AddressesOf]) -> Loaded<AddressesOf, Vec<AddressRow>> {
        let rows: Vec<AddressRow> = sqlx::query_as(
            "SELECT customer_id, address_id, label, line1, line2, city, postal_code, country
             FROM customer_addresses WHERE customer_id = ANY($1) ORDER BY customer_id, ordinal",
        )
        .bind(ids(keys, |k| k.0))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| failed(&e))?;
        Ok(grouped(rows, |r| AddressesOf(r.customer_id)))
    }
}

impl Loader<CustomerOrders> for ReadModels {
    type Value = Vec<OrderRow>;
    type Error = async_graphql::Error;

    /// One statement per distinct (status, first, after): usually one for a whole page
    /// of customers.
    async fn load(&self, keys: &[CustomerOrders]) -> Loaded<CustomerOrders, Vec<OrderRow>> {
        let by_arguments = grouped(keys.to_vec(), |k| (k.status, k.first, k.after));
        let mut out = HashMap::new();
        for ((status, first, after), keys) in by_arguments {
            let customers = ids(&keys, |k| k.customer);
            let rows = pages::orders_of_customers(&self.pool, &customers, status, first, after)
                .await
                .map_err(|e| failed(&e))?;
            let mut rows = grouped(rows, |r| r.customer_id);
            for key in keys {
                out.insert(key, rows.remove(&key.customer).unwrap_or_default());
            }
        }
        Ok(out)
    }
}

impl Loader<CustomerOrderCount> for ReadModels {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[CustomerOrderCount]) -> Loaded<CustomerOrderCount, i64> {
        let by_status = grouped(keys.to_vec(), |k| k.status);
        let mut out = HashMap::new();
        for (status, keys) in by_status {
            let customers = ids(&keys, |k| k.customer);
            let counts: HashMap<Uuid, i64> =
                pages::order_counts_of_customers(&self.pool, &customers, status)
                    .await
                    .map_err(|e| failed(&e))?
                    .into_iter()
                    .collect();
            for key in keys {
                out.insert(key, counts.get(&key.customer).copied().unwrap_or(0));
            }
        }
        Ok(out)
    }
}
