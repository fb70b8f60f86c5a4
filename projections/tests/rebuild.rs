//! Rebuilding projections without downtime, while the live runtime and readers run.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use domain::values::{PersonName, Quantity};
use domain::{Customer, CustomerCommand, Product, ProductCommand};
use event_store::testing::TestDatabase;
use support::{caught_up, dump, generate, replay_from_scratch, start, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rebuild_swaps_in_the_same_rows_while_readers_and_writers_go_on() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let world = Arc::new(World::on(&log));
    let running = start(&log);
    let (customers, orders) = generate(&world, 120).await;
    caught_up(&log).await;

    // Readers keep querying: they must never see a table missing rows it had.
    let reading = Arc::new(AtomicBool::new(true));
    let reader = {
        let pool = db.pool.clone();
        let reading = reading.clone();
        let expected = orders.len() as i64;
        tokio::spawn(async move {
            let mut queries = 0_u64;
            while reading.load(Ordering::SeqCst) {
                let (orders, lines, customers): (i64, i64, i64) = sqlx::query_as(
                    "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines), (SELECT count(*) FROM customers)",
                )
                .fetch_one(&pool)
                .await
                .expect("a reader's query");
                assert!(
                    orders >= expected && lines >= expected && customers == 20,
                    "a reader saw {orders} orders, {lines} lines"
                );
                queries += 1;
            }
            queries
        })
    };
    // Writers go on during the rebuild, too.
    let writer = {
        let world = world.clone();
        let customer = customers[0];
        tokio::spawn(async move {
            for n in 0..30 {
                let name = PersonName::parse(format!("Live {n}")).expect("name");
                world
                    .run::<Customer>(
                        &customer.to_string(),
                        CustomerCommand::Rename { name },
                        world.clock.clone(),
                    )
                    .await
                    .expect("rename");
                let restock = ProductCommand::Restock {
                    quantity: Quantity::new(1).expect("q"),
                };
                world
                    .run::<Product>("SKU-1", restock, ())
                    .await
                    .expect("restock");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    for projection in projections::read_models() {
        let mut last = None;
        projections::rebuild::rebuild(&log, projection.as_ref(), |p| last = Some(p))
            .await
            .expect("rebuild");
        let last = last.expect("progress was reported");
        assert!(last.done && last.events > 0, "{last:?}");
    }
    writer.await.expect("writer");
    caught_up(&log).await;
    reading.store(false, Ordering::SeqCst);
    let queries = reader.await.expect("reader never saw a half-built view");
    assert!(
        queries > 10,
        "readers were querying during the rebuild ({queries} queries)"
    );
    let after_rebuild = dump(&db).await;

    // The rebuilt generation equals what a plain from-scratch replay gives.
    running.stop().await;
    assert_eq!(after_rebuild, replay_from_scratch(&db, &log).await);
    let name: String =
        sqlx::query_scalar("SELECT DISTINCT customer_name FROM orders WHERE customer_id = $1")
            .bind(customers[0].as_uuid())
            .fetch_one(&db.pool)
            .await
            .expect("name");
    assert_eq!(
        name, "Live 29",
        "writes during the rebuild reached the new generation"
    );
    let leftovers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild_%'")
            .fetch_one(&db.pool)
            .await
            .expect("schemas");
    assert_eq!(leftovers, 0, "no shadow schema is left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_rebuild_of_the_same_projection_is_refused_while_the_first_runs() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let world = World::on(&log);
    let running = start(&log);
    generate(&world, 60).await;
    caught_up(&log).await;
    let orders = projections::models::orders::OrdersProjection;
    let (first, second) = tokio::join!(
        projections::rebuild::rebuild(&log, &orders, |_| {}),
        async {
            // Let the first one take its lock.
            tokio::time::sleep(Duration::from_millis(50)).await;
            projections::rebuild::rebuild(&log, &orders, |_| {}).await
        }
    );
    let outcomes = [first.is_ok(), second.is_ok()];
    assert_eq!(
        outcomes.iter().filter(|ok| **ok).count(),
        1,
        "{first:?} / {second:?}"
    );
    let refusal = first.err().or(second.err()).expect("one refused");
    assert!(
        refusal.to_string().contains("already running"),
        "{refusal:#}"
    );
    // The one that ran left a complete generation: a later rebuild works and agrees.
    let before = dump(&db).await;
    projections::rebuild::rebuild(&log, &orders, |_| {})
        .await
        .expect("a rebuild after the first ended");
    assert_eq!(dump(&db).await, before);
    running.stop().await;
}
