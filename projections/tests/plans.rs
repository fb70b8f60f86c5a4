//! A projection batch reads its rows with a plan made for the table as it is, not for the
//! table as it was when the statement was first run: read models grow from nothing, far
//! faster than their statistics are refreshed.

mod support;

use domain::values::{Currency, Money, ProductName, Quantity, Sku, StockLevel};
use domain::{Product, ProductCommand};
use event_store::testing::TestDatabase;
use event_store::RecordedEvent;
use sqlx::PgConnection;
use support::World;

/// How many sequential scans of `table` the server has counted, after `conn`'s session
/// reported its own.
async fn seq_scans(conn: &mut PgConnection, table: &str) -> i64 {
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(&mut *conn)
        .await
        .expect("flush statistics");
    sqlx::query_scalar("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = $1")
        .bind(table)
        .fetch_one(&mut *conn)
        .await
        .expect("statistics")
}

/// Adds `rows` products that no event made.
async fn grow(conn: &mut PgConnection, rows: i32) {
    sqlx::query(
        "INSERT INTO products (sku, name, price_minor, currency, on_hand, reserved, version)
         SELECT 'BULK-' || n || '-' || $1, 'Bulk', 100, 'EUR', 1, 0, 1
         FROM generate_series(1, $1) n",
    )
    .bind(rows)
    .execute(&mut *conn)
    .await
    .expect("grow");
}

#[tokio::test]
async fn a_batch_reads_a_grown_table_by_its_index() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let world = World::on(&log);
    sqlx::query("ALTER TABLE products SET (autovacuum_enabled = false)")
        .execute(&db.pool)
        .await
        .expect("no autovacuum");
    let eur = Currency::parse("EUR").expect("currency");
    for n in 0..8 {
        let define = ProductCommand::Define {
            sku: Sku::parse(format!("SKU-{n}")).expect("sku"),
            name: ProductName::parse(format!("Product {n}")).expect("name"),
            price: Money::from_minor(100, eur),
            stock: StockLevel::new(10).expect("stock"),
        };
        world
            .run::<Product>(&format!("SKU-{n}"), define, ())
            .await
            .expect("define");
    }
    let restock = ProductCommand::Restock {
        quantity: Quantity::new(1).expect("quantity"),
    };
    world
        .run::<Product>("SKU-0", restock, ())
        .await
        .expect("restock");
    let events: Vec<RecordedEvent> = event_store::testing::read_all(&log).await;
    let projection = projections::read_models()
        .into_iter()
        .find(|p| p.name() == "products")
        .expect("the products read model");
    let upcasters = domain::events::upcasters();

    // One connection, so that every batch's statements share its statement cache.
    let pool = db.pool_of(1).await;
    let mut conn = pool.acquire().await.expect("connection");
    // The table is small, and analyzed so, while the first batches run: enough of them for
    // the server to settle on a plan for any keys.
    grow(&mut conn, 100).await;
    sqlx::query("ANALYZE products")
        .execute(&mut *conn)
        .await
        .expect("analyze");
    for event in &events[..8] {
        projection
            .apply_stored(&mut conn, std::slice::from_ref(event), &upcasters)
            .await
            .expect("batch");
    }
    // The table grows (as in a bulk load) while its statistics stay those of a small one.
    grow(&mut conn, 50_000).await;
    let before = seq_scans(&mut conn, "products").await;
    projection
        .apply_stored(&mut conn, &events[8..], &upcasters)
        .await
        .expect("batch");
    let scans = seq_scans(&mut conn, "products").await - before;
    assert_eq!(scans, 0, "a batch of one product scanned its whole table");
}
