//! Rows by key, many keys per statement: what the loaders, the sibling sets and the hub run.

use std::collections::HashMap;
use std::hash::Hash;

use projections::tables::customers::{AddressRow, CustomerRow};
use projections::tables::orders::{OrderHistoryRow, OrderLineRow, OrderRow};
use projections::tables::products::ProductRow;
use projections::tables::shipments::ShipmentRow;
use projections::tables::Table;
use sqlx::postgres::PgRow;
use sqlx::PgPool;
use uuid::Uuid;

/// Rows grouped under the key built from each row, in the order they came.
pub fn grouped<K: Hash + Eq, R>(rows: Vec<R>, key: impl Fn(&R) -> K) -> HashMap<K, Vec<R>> {
    let mut out: HashMap<K, Vec<R>> = HashMap::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    out
}

/// The rows of `table` whose `column` is one of `keys`, in one statement (`then`: what
/// follows the `WHERE`, such as an `ORDER BY`).
async fn rows_with<R>(
    pool: &PgPool,
    table: &Table,
    column: &str,
    keys: &[Uuid],
    then: &str,
) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    sqlx::query_as(&format!(
        "SELECT {} FROM {} WHERE {column} = ANY($1) {then}",
        table.select, table.name
    ))
    .bind(keys)
    .fetch_all(pool)
    .await
}

pub async fn orders(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<OrderRow>, sqlx::Error> {
    rows_with(pool, &OrderRow::TABLE, "id", ids, "").await
}

pub async fn lines(
    pool: &PgPool,
    orders: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrderLineRow>>, sqlx::Error> {
    let order = "ORDER BY order_id, line_no";
    let rows: Vec<OrderLineRow> =
        rows_with(pool, &OrderLineRow::TABLE, "order_id", orders, order).await?;
    Ok(grouped(rows, |r| r.order_id))
}

pub async fn history(
    pool: &PgPool,
    orders: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrderHistoryRow>>, sqlx::Error> {
    let order = "ORDER BY order_id, sequence";
    let rows: Vec<OrderHistoryRow> =
        rows_with(pool, &OrderHistoryRow::TABLE, "order_id", orders, order).await?;
    Ok(grouped(rows, |r| r.order_id))
}

pub async fn product(pool: &PgPool, sku: &str) -> Result<Option<ProductRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM {} WHERE sku = $1",
        ProductRow::TABLE.select,
        ProductRow::TABLE.name
    ))
    .bind(sku)
    .fetch_optional(pool)
    .await
}

pub async fn shipments(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<ShipmentRow>, sqlx::Error> {
    rows_with(pool, &ShipmentRow::TABLE, "id", ids, "").await
}

pub async fn customers(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<CustomerRow>, sqlx::Error> {
    rows_with(pool, &CustomerRow::TABLE, "id", ids, "").await
}

pub async fn addresses(
    pool: &PgPool,
    customers: &[Uuid],
) -> Result<HashMap<Uuid, Vec<AddressRow>>, sqlx::Error> {
    let order = "ORDER BY customer_id, ordinal";
    let rows: Vec<AddressRow> =
        rows_with(pool, &AddressRow::TABLE, "customer_id", customers, order).await?;
    Ok(grouped(rows, |r| r.customer_id))
}
