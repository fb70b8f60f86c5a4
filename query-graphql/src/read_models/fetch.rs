//! Rows by key, many keys per statement: what the loaders, the sibling sets and the hub run.
//! Every statement runs on a leased connection ([`event_store::leases`]), here and in
//! `pages`.

use std::collections::HashMap;
use std::hash::Hash;

use event_store::Leases;
use projections::tables::customers::{AddressRow, CustomerRow};
use projections::tables::orders::{OrderHistoryRow, OrderLineRow, OrderRow};
use projections::tables::products::ProductRow;
use projections::tables::shipments::ShipmentRow;
use projections::tables::Table;
use sqlx::postgres::PgRow;
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
    reads: &Leases,
    table: &Table,
    column: &str,
    keys: &[Uuid],
    then: &str,
) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let sql = format!(
        "SELECT {} FROM {} WHERE {column} = ANY($1) {then}",
        table.select, table.name
    );
    let mut lease = reads.lease().await?;
    let rows = sqlx::query_as(&sql).bind(keys).fetch_all(&mut *lease).await;
    lease.finished(rows)
}

pub async fn orders(reads: &Leases, ids: &[Uuid]) -> Result<Vec<OrderRow>, sqlx::Error> {
    rows_with(reads, &OrderRow::TABLE, "id", ids, "").await
}

pub async fn lines(
    reads: &Leases,
    orders: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrderLineRow>>, sqlx::Error> {
    let order = "ORDER BY order_id, line_no";
    let rows: Vec<OrderLineRow> =
        rows_with(reads, &OrderLineRow::TABLE, "order_id", orders, order).await?;
    Ok(grouped(rows, |r| r.order_id))
}

pub async fn history(
    reads: &Leases,
    orders: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrderHistoryRow>>, sqlx::Error> {
    let order = "ORDER BY order_id, sequence";
    let rows: Vec<OrderHistoryRow> =
        rows_with(reads, &OrderHistoryRow::TABLE, "order_id", orders, order).await?;
    Ok(grouped(rows, |r| r.order_id))
}

pub async fn product(reads: &Leases, sku: &str) -> Result<Option<ProductRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM {} WHERE sku = $1",
        ProductRow::TABLE.select,
        ProductRow::TABLE.name
    );
    let mut lease = reads.lease().await?;
    let row = sqlx::query_as(&sql)
        .bind(sku)
        .fetch_optional(&mut *lease)
        .await;
    lease.finished(row)
}

pub async fn shipments(reads: &Leases, ids: &[Uuid]) -> Result<Vec<ShipmentRow>, sqlx::Error> {
    rows_with(reads, &ShipmentRow::TABLE, "id", ids, "").await
}

pub async fn customers(reads: &Leases, ids: &[Uuid]) -> Result<Vec<CustomerRow>, sqlx::Error> {
    rows_with(reads, &CustomerRow::TABLE, "id", ids, "").await
}

pub async fn addresses(
    reads: &Leases,
    customers: &[Uuid],
) -> Result<HashMap<Uuid, Vec<AddressRow>>, sqlx::Error> {
    let order = "ORDER BY customer_id, ordinal";
    let rows: Vec<AddressRow> =
        rows_with(reads, &AddressRow::TABLE, "customer_id", customers, order).await?;
    Ok(grouped(rows, |r| r.customer_id))
}
