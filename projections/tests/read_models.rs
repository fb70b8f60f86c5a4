//! The read models over a generated history of all four aggregates.

mod support;

use domain::values::*;
use domain::{Customer, CustomerCommand, Product, ProductCommand};
use event_store::testing::TestDatabase;
use support::{caught_up, dump, generate, replay_from_scratch, start, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_live_run_equals_a_rebuild_from_the_log() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let world = World::on(&log);
    let running = start(&log);
    let (customers, orders) = generate(&world, 300).await;
    caught_up(&log).await;
    running.stop().await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert!(events > 2_000, "a history of thousands of events: {events}");
    let live = dump(&db).await;

    // Every order is there, with its customer's current name (renames followed).
    let rows: Vec<(uuid::Uuid, String, String)> = sqlx::query_as(
        "SELECT o.id, o.customer_name, c.name FROM orders o JOIN customers c ON c.id = o.customer_id",
    )
    .fetch_all(&db.pool)
    .await
    .expect("orders");
    assert_eq!(rows.len(), orders.len());
    assert!(
        rows.iter()
            .all(|(_, on_order, current)| on_order == current),
        "enrichment follows renames"
    );
    let renamed = rows
        .iter()
        .filter(|(_, name, _)| name.starts_with("Renamed"))
        .count();
    assert!(renamed > 0);
    let counts: i64 = sqlx::query_scalar("SELECT sum(order_count) FROM customers")
        .fetch_one(&db.pool)
        .await
        .expect("sum");
    assert_eq!(counts, orders.len() as i64);
    assert_eq!(customers.len(), 20);

    // Rebuild from position 0 into empty tables: the same rows, table for table.
    let rebuilt = replay_from_scratch(&db, &log).await;
    for ((table, live_rows), (_, rebuilt_rows)) in live.iter().zip(&rebuilt) {
        assert_eq!(
            live_rows, rebuilt_rows,
            "{table} differs between the live run and the rebuild"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_view_follows_its_life_and_keeps_captured_lines() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let world = World::on(&log);
    let running = start(&log);
    let (customers, orders) = generate(&world, 5).await;
    caught_up(&log).await;

    // Order 3 (i % 5 == 3): confirmed, paid, shipment dispatched, order shipped.
    let shipped = orders[3];
    let row: (String, Option<String>, Option<String>, Option<String>, Option<i64>, i64) = sqlx::query_as(
        "SELECT status, shipment_status, shipment_carrier, shipment_tracking_number, payment_amount_minor, total_minor
         FROM orders WHERE id = $1",
    )
    .bind(shipped.as_uuid())
    .fetch_one(&db.pool)
    .await
    .expect("order");
    assert_eq!(
        (
            row.0.as_str(),
            row.1.as_deref(),
            row.2.as_deref(),
            row.3.as_deref()
        ),
        ("SHIPPED", Some("DISPATCHED"), Some("DHL"), Some("JJD3"))
    );
    assert_eq!(row.4, Some(row.5), "paid the total");
    let history: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM order_history WHERE order_id = $1 ORDER BY sequence",
    )
    .bind(shipped.as_uuid())
    .fetch_all(&db.pool)
    .await
    .expect("history");
    assert_eq!(history, ["PLACED", "CONFIRMED", "PAID", "SHIPPED"]);
    let shipment: (String, Option<String>) =
        sqlx::query_as("SELECT status, carrier FROM shipments WHERE order_id = $1")
            .bind(shipped.as_uuid())
            .fetch_one(&db.pool)
            .await
            .expect("shipment");
    assert_eq!(shipment, ("DISPATCHED".to_owned(), Some("DHL".to_owned())));

    // A later price change does not touch past lines; a rename and an email change reach
    // every order of the customer, also orders no event of this batch touched.
    let before: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, unit_price_minor FROM order_lines ORDER BY order_id, line_no")
            .fetch_all(&db.pool)
            .await
            .expect("lines");
    let eur = Currency::parse("EUR").expect("EUR");
    world
        .run::<Product>(
            "SKU-0",
            ProductCommand::ChangePrice {
                price: Money::from_minor(99_999, eur),
            },
            (),
        )
        .await
        .expect("price");
    let customer = customers[0];
    let name = PersonName::parse("Ada King").expect("name");
    world
        .run::<Customer>(
            &customer.to_string(),
            CustomerCommand::Rename { name },
            world.clock.clone(),
        )
        .await
        .expect("rename");
    let email = Email::parse("ada@king.org").expect("email");
    world
        .run::<Customer>(
            &customer.to_string(),
            CustomerCommand::ChangeEmail {
                email,
                email_owner: None,
            },
            world.clock.clone(),
        )
        .await
        .expect("email");
    caught_up(&log).await;
    let after: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, unit_price_minor FROM order_lines ORDER BY order_id, line_no")
            .fetch_all(&db.pool)
            .await
            .expect("lines");
    assert_eq!(before, after);
    let names: Vec<(String, String)> =
        sqlx::query_as("SELECT customer_name, customer_email FROM orders WHERE customer_id = $1")
            .bind(customer.as_uuid())
            .fetch_all(&db.pool)
            .await
            .expect("orders");
    assert!(!names.is_empty());
    assert!(
        names
            .iter()
            .all(|(n, e)| n == "Ada King" && e == "ada@king.org"),
        "{names:?}"
    );
    let price: i64 = sqlx::query_scalar("SELECT price_minor FROM products WHERE sku = 'SKU-0'")
        .fetch_one(&db.pool)
        .await
        .expect("price");
    assert_eq!(price, 99_999);
    running.stop().await;
}
