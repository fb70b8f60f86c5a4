//! The read model the GraphQL benchmarks read, and OMS's queries over it.

use sqlx::PgPool;
use uuid::Uuid;

pub const ORDERS: i64 = 100_000;

/// `order(id:)` with its customer, total and lines.
pub const ORDER: &str = "query($id: ID!) { order(id: $id) { id status placedAt
    customer { name email } total { amount currency }
    lines { sku productName quantity unitPrice { amount } } } }";

/// The first page of `orders`, newest first.
pub const PAGE: &str = "{ orders(first: 20) { edges { cursor node { id status placedAt
    customer { name } total { amount currency } } } pageInfo { hasNextPage endCursor } } }";

/// 100,000 orders of 1,000 customers, placed a second apart, written straight into the
/// read model (the benchmark measures reads, not projection).
const FILL: &[&str] = &[
    "INSERT INTO orders (id, status, customer_id, customer_name, customer_email,
        shipping_address_id, shipping_label, shipping_line1, shipping_line2, shipping_city,
        shipping_postal_code, shipping_country, item_count, total_minor, currency,
        placed_at, updated_at, version)
     SELECT md5('order' || i)::uuid,
            (ARRAY['PLACED','CONFIRMED','PAID','SHIPPED','DELIVERED'])[1 + i % 5],
            md5('customer' || i % 1000)::uuid, 'Customer ' || i % 1000,
            'c' || i % 1000 || '@example.com', md5('address' || i % 1000)::uuid, 'home',
            'Hauptstraße ' || i % 200, NULL, 'Berlin', '10115', 'DE', 3, 2970, 'EUR',
            timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second',
            timestamptz '2026-01-01 00:01:00+00' + i * interval '1 second', 2
     FROM generate_series(1, 100000) AS i",
    "INSERT INTO order_lines (order_id, line_no, sku, product_name, quantity, unit_price_minor, currency)
     SELECT md5('order' || i)::uuid, l, 'SKU-' || (i + l) % 50, 'Product ' || (i + l) % 50,
            1 + l, 990, 'EUR'
     FROM generate_series(1, 100000) AS i, generate_series(0, 1) AS l",
    "INSERT INTO order_history (order_id, sequence, status, at, reason)
     SELECT md5('order' || i)::uuid, s, (ARRAY['PLACED','CONFIRMED'])[s],
            timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' + s * interval '1 second', NULL
     FROM generate_series(1, 100000) AS i, generate_series(1, 2) AS s",
    "ANALYZE orders, order_lines, order_history",
];

/// Writes [`ORDERS`] orders (two lines and two status changes each) into the read model;
/// returns their ids.
pub async fn fill(pool: &PgPool) -> Vec<Uuid> {
    for statement in FILL {
        sqlx::query(statement).execute(pool).await.expect("fill");
    }
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM orders ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("ids");
    assert_eq!(ids.len() as i64, ORDERS);
    ids
}
