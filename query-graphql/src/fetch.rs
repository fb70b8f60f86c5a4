//! Rows by key, many keys per statement: what the loaders and the sibling sets run.

use std::collections::HashMap;
use std::hash::Hash;

use sqlx::PgPool;
use uuid::Uuid;

use crate::views::customer::{AddressRow, CustomerRow, CUSTOMER_COLUMNS};
use crate::views::order::{HistoryRow, LineRow, OrderRow, ORDER_COLUMNS};
use crate::views::product::{ProductRow, PRODUCT_COLUMNS};
use crate::views::shipment::{ShipmentRow, SHIPMENT_COLUMNS};

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
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
}

pub async fn lines(
    pool: &PgPool,
    orders: &[Uuid],
) -> Result<HashMap<Uuid, Vec<LineRow>>, sqlx::Error> {
    let rows: Vec<LineRow> = sqlx::query_as(
        "SELECT order_id, sku, product_name, quantity, unit_price_minor, currency
         FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, line_no",
    )
    .bind(orders)
    .fetch_all(pool)
    .await?;
    Ok(grouped(rows, |r| r.order_id))
}

pub async fn history(
    pool: &PgPool,
    orders: &[Uuid],
) -> Result<HashMap<Uuid, Vec<HistoryRow>>, sqlx::Error> {
    let rows: Vec<HistoryRow> = sqlx::query_as(
        "SELECT order_id, status, at, reason
         FROM order_history WHERE order_id = ANY($1) ORDER BY order_id, sequence",
    )
    .bind(orders)
    .fetch_all(pool)
    .await?;
    Ok(grouped(rows, |r| r.order_id))
}

pub async fn product(pool: &PgPool, sku: &str) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = $1"
    ))
    .bind(sku)
    .fetch_optional(pool)
    .await
}

pub async fn shipments(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<ShipmentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
}

pub async fn customers(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<CustomerRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
}

pub async fn addresses(
    pool: &PgPool,
    customers: &[Uuid],
) -> Result<HashMap<Uuid, Vec<AddressRow>>, sqlx::Error> {
    let rows: Vec<AddressRow> = sqlx::query_as(
        "SELECT customer_id, address_id, label, line1, line2, city, postal_code, country
         FROM customer_addresses WHERE customer_id = ANY($1) ORDER BY customer_id, ordinal",
    )
    .bind(customers)
    .fetch_all(pool)
    .await?;
    Ok(grouped(rows, |r| r.customer_id))
}
