//! Rows by key, many keys per statement: what the loaders, the sibling sets and the hub run.

use std::collections::HashMap;
use std::hash::Hash;

use sqlx::PgPool;
use uuid::Uuid;

use projections::tables::customers::{AddressRow, CustomerRow};
use projections::tables::orders::{OrderHistoryRow, OrderLineRow, OrderRow};
use projections::tables::products::ProductRow;
use projections::tables::shipments::ShipmentRow;

/// Rows grouped under the key built from each row, in the order they came.
pub fn grouped<K: Hash + Eq, R>(rows: Vec<R>, key: impl Fn(&R) -> K) -> HashMap<K, Vec<R>> {
    let mut out: HashMap<K, Vec<R>> = HashMap::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    out
}

pub async fn orders(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<OrderRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM orders WHERE id = ANY($1)",
        OrderRow::TABLE.select
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
}

pub async fn lines(
    pool: &PgPool,
    orders: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrderLineRow>>, sqlx::Error> {
    let rows: Vec<OrderLineRow> = sqlx::query_as(&format!(
        "SELECT {} FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, line_no",
        OrderLineRow::TABLE.select
    ))
    .bind(orders)
    .fetch_all(pool)
    .await?;
    Ok(grouped(rows, |r| r.order_id))
}

pub async fn history(
    pool: &PgPool,
    orders: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrderHistoryRow>>, sqlx::Error> {
    let rows: Vec<OrderHistoryRow> = sqlx::query_as(&format!(
        "SELECT {} FROM order_history WHERE order_id = ANY($1) ORDER BY order_id, sequence",
        OrderHistoryRow::TABLE.select
    ))
    .bind(orders)
    .fetch_all(pool)
    .await?;
    Ok(grouped(rows, |r| r.order_id))
}

pub async fn product(pool: &PgPool, sku: &str) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM products WHERE sku = $1",
        ProductRow::TABLE.select
    ))
    .bind(sku)
    .fetch_optional(pool)
    .await
}

pub async fn shipments(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<ShipmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM shipments WHERE id = ANY($1)",
        ShipmentRow::TABLE.select
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
}

pub async fn customers(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<CustomerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM customers WHERE id = ANY($1)",
        CustomerRow::TABLE.select
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
}

pub async fn addresses(
    pool: &PgPool,
    customers: &[Uuid],
) -> Result<HashMap<Uuid, Vec<AddressRow>>, sqlx::Error> {
    let rows: Vec<AddressRow> = sqlx::query_as(&format!(
        "SELECT {} FROM customer_addresses WHERE customer_id = ANY($1) ORDER BY customer_id, ordinal",
        AddressRow::TABLE.select
    ))
    .bind(customers)
    .fetch_all(pool)
    .await?;
    Ok(grouped(rows, |r| r.customer_id))
}
