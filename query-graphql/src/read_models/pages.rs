//! Keyset pages and counts over the read models: the SQL behind every connection.
//!
//! A page is the rows after the cursor's sort key, in sort order, one more than asked
//! for (to know whether another page follows); never `OFFSET`, so a page costs the same
//! wherever it lies and rows arriving in between neither repeat nor vanish. Each filter
//! combination is its own statement (only the predicates given), so every one gets a plan
//! on the index that serves it (docs/adr/0009-graphql.md).

use chrono::{DateTime, Utc};
use event_store::Leases;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use domain::order::OrderStatus;
use projections::tables::customers::CustomerRow;
use projections::tables::orders::OrderRow;
use projections::tables::products::ProductRow;

use crate::cursor::TimeCursor;

/// `OrderFilter`, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OrdersFilter {
    pub status: Option<OrderStatus>,
    pub customer: Option<Uuid>,
    pub placed_after: Option<DateTime<Utc>>,
    pub placed_before: Option<DateTime<Utc>>,
}

/// A page's rows and whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_next: bool,
}

impl<T> Page<T> {
    /// The same page over other values, one for each row.
    pub fn map<U>(self, f: impl FnOnce(Vec<T>) -> Vec<U>) -> Page<U> {
        Page {
            rows: f(self.rows),
            has_next: self.has_next,
        }
    }

    /// From up to `first + 1` rows.
    pub fn of(mut rows: Vec<T>, first: i64) -> Self {
        let first = usize::try_from(first).unwrap_or(0);
        let has_next = rows.len() > first;
        rows.truncate(first);
        Self { rows, has_next }
    }
}

/// The rows `query` selects, on a leased connection.
async fn rows<R>(
    reads: &Leases,
    query: &mut QueryBuilder<'_, Postgres>,
) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let mut lease = reads.lease().await?;
    let rows = query.build_query_as().fetch_all(&mut *lease).await;
    lease.finished(rows)
}

/// The count `query` selects, on a leased connection.
async fn count(reads: &Leases, query: &mut QueryBuilder<'_, Postgres>) -> Result<i64, sqlx::Error> {
    let mut lease = reads.lease().await?;
    let count = query.build_query_scalar().fetch_one(&mut *lease).await;
    lease.finished(count)
}

fn push_orders_filter(query: &mut QueryBuilder<'_, Postgres>, filter: &OrdersFilter) {
    query.push(" WHERE true");
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(customer) = filter.customer {
        query.push(" AND customer_id = ").push_bind(customer);
    }
    if let Some(after) = filter.placed_after {
        query.push(" AND placed_at > ").push_bind(after);
    }
    if let Some(before) = filter.placed_before {
        query.push(" AND placed_at < ").push_bind(before);
    }
}

/// `orders(filter, first, after)`: newest first (`placed_at desc, id desc`).
pub async fn orders(
    reads: &Leases,
    filter: &OrdersFilter,
    first: i64,
    after: Option<TimeCursor>,
) -> Result<Page<OrderRow>, sqlx::Error> {
    let mut query = orders_query("SELECT", filter, first, after);
    let rows = rows(reads, &mut query).await?;
    Ok(Page::of(rows, first))
}

/// The statement of [`orders`], after `verb` (`SELECT`, or `EXPLAIN SELECT` in tests).
pub fn orders_query<'a>(
    verb: &str,
    filter: &OrdersFilter,
    first: i64,
    after: Option<TimeCursor>,
) -> QueryBuilder<'a, Postgres> {
    let mut query = QueryBuilder::new(format!("{verb} {} FROM orders", OrderRow::TABLE.select));
    push_orders_filter(&mut query, filter);
    push_newest_first(&mut query, "placed_at", after, first);
    query
}

/// The rest of a page newest first by `(at, id)`: after the cursor, in order, `first + 1`.
fn push_newest_first(
    query: &mut QueryBuilder<'_, Postgres>,
    at: &str,
    after: Option<TimeCursor>,
    first: i64,
) {
    if let Some(cursor) = after {
        query
            .push(format!(" AND ({at}, id) < ("))
            .push_bind(cursor.at)
            .push(", ")
            .push_bind(cursor.id)
            .push(")");
    }
    query
        .push(format!(" ORDER BY {at} DESC, id DESC LIMIT "))
        .push_bind(first + 1);
}

pub async fn orders_count(reads: &Leases, filter: &OrdersFilter) -> Result<i64, sqlx::Error> {
    let mut query = QueryBuilder::new("SELECT count(*) FROM orders");
    push_orders_filter(&mut query, filter);
    count(reads, &mut query).await
}

/// The pages of `customer.orders` for many customers with the same arguments: one
/// statement, a keyset page per customer through `LATERAL`.
pub async fn orders_of_customers(
    reads: &Leases,
    customers: &[Uuid],
    status: Option<OrderStatus>,
    first: i64,
    after: Option<TimeCursor>,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    let mut query = QueryBuilder::new("SELECT o.* FROM UNNEST(");
    query.push_bind(customers.to_vec()).push(format!(
        "::uuid[]) AS c(id) CROSS JOIN LATERAL (SELECT {} FROM orders WHERE customer_id = c.id",
        OrderRow::TABLE.select
    ));
    if let Some(status) = status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    push_newest_first(&mut query, "placed_at", after, first);
    query.push(") o");
    rows(reads, &mut query).await
}

/// How many orders each of `customers` has (with `status`, when given).
pub async fn order_counts_of_customers(
    reads: &Leases,
    customers: &[Uuid],
    status: Option<OrderStatus>,
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let mut query =
        QueryBuilder::new("SELECT customer_id, count(*) FROM orders WHERE customer_id = ANY(");
    query.push_bind(customers.to_vec()).push(")");
    if let Some(status) = status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    query.push(" GROUP BY customer_id");
    rows(reads, &mut query).await
}

/// `emailContains` as a `LIKE` pattern, its wildcards escaped.
fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::from("%");
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn push_customers_filter(query: &mut QueryBuilder<'_, Postgres>, email_contains: Option<&str>) {
    query.push(" WHERE true");
    if let Some(needle) = email_contains {
        query
            .push(" AND lower(email) LIKE ")
            .push_bind(contains_pattern(needle));
    }
}

/// `customers(first, after, emailContains)`: newest first.
pub async fn customers(
    reads: &Leases,
    email_contains: Option<&str>,
    first: i64,
    after: Option<TimeCursor>,
) -> Result<Page<CustomerRow>, sqlx::Error> {
    let mut query = QueryBuilder::new(format!(
        "SELECT {} FROM customers",
        CustomerRow::TABLE.select
    ));
    push_customers_filter(&mut query, email_contains);
    push_newest_first(&mut query, "registered_at", after, first);
    let rows = rows(reads, &mut query).await?;
    Ok(Page::of(rows, first))
}

pub async fn customers_count(
    reads: &Leases,
    email_contains: Option<&str>,
) -> Result<i64, sqlx::Error> {
    let mut query = QueryBuilder::new("SELECT count(*) FROM customers");
    push_customers_filter(&mut query, email_contains);
    count(reads, &mut query).await
}

/// `products(first, after)`: by sku.
pub async fn products(
    reads: &Leases,
    first: i64,
    after: Option<&str>,
) -> Result<Page<ProductRow>, sqlx::Error> {
    let mut query = QueryBuilder::new(format!("SELECT {} FROM products", ProductRow::TABLE.select));
    if let Some(sku) = after {
        query.push(" WHERE sku > ").push_bind(sku.to_owned());
    }
    query.push(" ORDER BY sku LIMIT ").push_bind(first + 1);
    let rows = rows(reads, &mut query).await?;
    Ok(Page::of(rows, first))
}

pub async fn products_count(reads: &Leases) -> Result<i64, sqlx::Error> {
    count(
        reads,
        &mut QueryBuilder::new("SELECT count(*) FROM products"),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn email_wildcards_are_matched_literally() {
        assert_eq!(contains_pattern("A_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
