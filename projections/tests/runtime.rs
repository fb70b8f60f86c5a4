//! The projector runtime against a real database.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cqrs_es::persist::{PersistedEventStore, SerializedEvent};
use cqrs_es::{Aggregate, CqrsFramework};
use domain::values::{Currency, Money, OrderId, ProductName, Quantity, Sku, StockLevel};
use domain::{Product, ProductCommand};
use event_store::testing::TestDatabase;
use event_store::{EventLog, PgEventRepository};
use projections::runtime::{Projection, Running, Runtime, RuntimeOptions};
use projections::status::{status, ProjectionStatus};
use serde_json::json;

fn options() -> RuntimeOptions {
    RuntimeOptions {
        batch_size: 50,
        max_attempts: 3,
        standby_poll: Duration::from_millis(200),
        retry_backoff: Duration::from_millis(20),
    }
}

async fn run<A: Aggregate + 'static>(
    log: &EventLog,
    id: &str,
    command: A::Command,
    services: A::Services,
) where
    A::Error: std::fmt::Debug,
{
    let store = PersistedEventStore::<_, A>::new_event_store(PgEventRepository::new(log.clone()));
    CqrsFramework::new(store, vec![], services)
        .execute(id, command)
        .await
        .expect("command");
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("EUR").expect("EUR"))
}

async fn define(log: &EventLog, sku: &str, stock: i64) {
    let command = ProductCommand::Define {
        sku: Sku::parse(sku).expect("sku"),
        name: ProductName::parse(format!("Product {sku}")).expect("name"),
        price: eur(990),
        stock: StockLevel::new(stock).expect("stock"),
    };
    run::<Product>(log, sku, command, ()).await;
}

fn start(log: &EventLog, projections: Vec<Arc<dyn Projection>>) -> Running {
    Runtime::new(log.clone(), projections, options()).spawn()
}

async fn statuses(log: &EventLog, names: &[&str]) -> BTreeMap<String, ProjectionStatus> {
    status(log, names)
        .await
        .expect("status")
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect()
}

/// Waits until `name` has applied everything (or reached `state`).
async fn wait_for(
    log: &EventLog,
    name: &str,
    done: impl Fn(&ProjectionStatus) -> bool,
) -> ProjectionStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let current = statuses(log, &[name]).await.remove(name).expect("listed");
        if done(&current) {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {name}: {current:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn products_table(db: &TestDatabase) -> Vec<(String, i64, i64, i64)> {
    sqlx::query_as("SELECT sku, on_hand, reserved, version FROM products ORDER BY sku")
        .fetch_all(&db.pool)
        .await
        .expect("products")
}

#[tokio::test]
async fn keeps_read_models_current_and_reports_status() {
    let db = TestDatabase::new().await;
    let log = db.log();
    define(&log, "A", 10).await;
    let running = start(&log, projections::read_models());
    wait_for(&log, "products", |s| s.lag == 0 && s.state == "RUNNING").await;
    assert_eq!(products_table(&db).await, [("A".into(), 10, 0, 1)]);

    // Commands that land later show up without a restart.
    define(&log, "B", 5).await;
    run::<Product>(
        &log,
        "A",
        ProductCommand::Restock {
            quantity: Quantity::new(3).expect("q"),
        },
        (),
    )
    .await;
    let order = OrderId::new();
    run::<Product>(
        &log,
        "A",
        ProductCommand::Reserve {
            order_id: order,
            quantity: Quantity::new(4).expect("q"),
        },
        (),
    )
    .await;
    let ship = ProductCommand::Ship {
        order_id: order,
        quantity: Quantity::new(4).expect("q"),
    };
    run::<Product>(&log, "A", ship, ()).await;
    let current = wait_for(&log, "products", |s| s.lag == 0).await;
    assert_eq!(current.position, current.head_position);
    assert_eq!(
        products_table(&db).await,
        [("A".into(), 9, 0, 4), ("B".into(), 5, 0, 1)]
    );
    // customers reads the product events too (and skips them): stop once it has.
    wait_for(&log, "customers", |s| s.lag == 0).await;

    running.stop().await;
    let all = statuses(&log, &["products", "customers"]).await;
    assert!(
        all.values().all(|s| s.state == "STOPPED" && s.lag == 0),
        "{all:?}"
    );
}

#[tokio::test]
async fn a_poison_event_fails_its_projection_only_and_a_restart_retries_it() {
    let db = TestDatabase::new().await;
    let log = db.log();
    define(&log, "A", 1).await;
    // A product event that cannot be decoded.
    log.append(&[SerializedEvent {
        aggregate_id: "A".into(),
        sequence: 2,
        aggregate_type: "Product".into(),
        event_type: "ProductRestocked".into(),
        event_version: "1".into(),
        payload: json!({"ProductRestocked": {"quantity": "many"}}),
        metadata: json!({}),
    }])
    .await
    .expect("append");
    let running = start(&log, projections::read_models());
    let failed = wait_for(&log, "products", |s| s.state == "FAILED").await;
    assert!(
        failed
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("position")),
        "{failed:?}"
    );
    assert_eq!(
        failed.position, 0,
        "the batch with the poison event was not applied"
    );
    // Customers keep going: a later customer event is applied.
    let customers = wait_for(&log, "customers", |s| s.state == "RUNNING" && s.lag == 0).await;
    assert_eq!(customers.position, customers.head_position);
    running.stop().await;

    // Repair by hand (the way an operator would fix data), restart: it retries and passes.
    sqlx::query("DELETE FROM events WHERE aggregate_id = 'A' AND sequence = 2")
        .execute(&db.pool)
        .await
        .expect("repair");
    let running = start(&log, projections::read_models());
    let recovered = wait_for(&log, "products", |s| s.state == "RUNNING" && s.lag == 0).await;
    assert_eq!(recovered.last_error, None);
    assert_eq!(products_table(&db).await, [("A".into(), 1, 0, 1)]);
    running.stop().await;
}

#[tokio::test]
async fn two_runtimes_run_each_projection_once_and_fail_over() {
    let db = TestDatabase::new().await;
    let log = db.log();
    for n in 0..20 {
        define(&log, &format!("P{n}"), n).await;
    }
    let a = start(&log, projections::read_models());
    wait_for(&log, "products", |s| s.lag == 0).await;
    let b = start(&log, projections::read_models());
    // Both run; the lock lets only one apply. More events, all applied exactly once.
    for n in 20..40 {
        define(&log, &format!("P{n}"), n).await;
    }
    wait_for(&log, "products", |s| s.lag == 0).await;
    let locks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&db.pool)
    .await
    .expect("locks");
    assert_eq!(
        locks,
        projections::read_models().len() as i64,
        "one owner per projection"
    );

    // The owner dies without a goodbye: its task and connections vanish.
    a.kill().await;
    let died = Instant::now();
    define(&log, "AFTER", 1).await;
    wait_for(&log, "products", |s| s.lag == 0).await;
    assert!(
        died.elapsed() < Duration::from_secs(5),
        "the standby took over in {:?}",
        died.elapsed()
    );
    let rows = products_table(&db).await;
    assert_eq!(rows.len(), 41);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crashes_mid_batch_apply_every_event_exactly_once() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let skus: Vec<String> = (0..10).map(|n| format!("S{n}")).collect();
    for sku in &skus {
        define(&log, sku, 1_000).await;
    }
    // A writer streams stock changes while the runtime is killed again and again.
    let writer_log = log.clone();
    let writer_skus = skus.clone();
    let writer = tokio::spawn(async move {
        for i in 0..400_usize {
            let sku = &writer_skus[i % writer_skus.len()];
            let command = if i % 3 == 0 {
                ProductCommand::Reserve {
                    order_id: OrderId::new(),
                    quantity: Quantity::new(1).expect("q"),
                }
            } else {
                ProductCommand::Restock {
                    quantity: Quantity::new(1 + (i % 5) as i64).expect("q"),
                }
            };
            run::<Product>(&writer_log, sku, command, ()).await;
        }
    });
    let mut rng_state = 7_u64;
    while !writer.is_finished() {
        let running = start(&log, projections::read_models());
        rng_state = rng_state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        tokio::time::sleep(Duration::from_millis(20 + (rng_state >> 58))).await;
        running.kill().await; // mid-batch, mid-transaction, wherever it is
    }
    writer.await.expect("writer");
    let running = start(&log, projections::read_models());
    wait_for(&log, "products", |s| s.lag == 0).await;
    running.stop().await;
    let live = products_table(&db).await;

    // A from-scratch rebuild of the same log must give the same rows.
    sqlx::query("TRUNCATE products")
        .execute(&db.pool)
        .await
        .expect("truncate");
    sqlx::query("UPDATE projection_checkpoints SET transaction_id = 0, position = 0 WHERE name = 'products'")
        .execute(&db.pool)
        .await
        .expect("reset");
    let running = start(&log, projections::read_models());
    wait_for(&log, "products", |s| s.lag == 0).await;
    running.stop().await;
    assert_eq!(products_table(&db).await, live);

    // And both agree with the aggregates themselves.
    for (sku, on_hand, reserved, version) in live {
        let events = log
            .read_aggregate("Product", &sku, 0)
            .await
            .expect("events");
        let mut product = Product::default();
        for event in events {
            product.apply(serde_json::from_str(event.payload.get()).expect("event"));
            assert!(event.sequence <= version);
        }
        assert_eq!(
            (product.on_hand() as i64, product.reserved() as i64),
            (on_hand, reserved),
            "{sku}"
        );
    }
}

/// Ends this database's sessions except this one's, the writer's and those holding
/// advisory locks (projection owners), so that the next ones start with the database's new settings.
async fn end_pooled_sessions(admin: &mut sqlx::PgConnection, db: &TestDatabase) {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()
           AND application_name <> 'writer'
           AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')",
    )
    .bind(&db.name)
    .execute(admin)
    .await
    .expect("terminate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_failing_in_passing_is_waited_out_as_retrying_never_failed() {
    use sqlx::Connection;
    let db = TestDatabase::new().await;
    let log = db.log();
    define(&log, "A", 10).await;
    // A writer whose session predates the change below, so it can still append.
    let writer = EventLog::new(
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(db.options.clone().application_name("writer"))
            .await
            .expect("writer pool"),
    );

    // The database turns read-only (as a primary being demoted does) for new sessions, and
    // the pooled ones are ended (SQLSTATE 57P01): every batch now fails, for longer than
    // the runtime's poison attempts last.
    let mut admin = sqlx::PgConnection::connect_with(&db.options)
        .await
        .expect("admin");
    let database = format!("\"{}\"", db.name);
    let running = start(&log, projections::read_models());
    wait_for(&log, "products", |s| s.lag == 0).await;
    sqlx::query(&format!(
        "ALTER DATABASE {database} SET default_transaction_read_only = on"
    ))
    .execute(&mut admin)
    .await
    .expect("read-only");
    end_pooled_sessions(&mut admin, &db).await;
    define(&writer, "B", 20).await;
    let read_status = || async {
        let (state, error): (String, Option<String>) = sqlx::query_as(
            "SELECT state, last_error FROM projection_checkpoints WHERE name = 'products'",
        )
        .fetch_one(
            &mut sqlx::PgConnection::connect_with(&db.options)
                .await
                .expect("reader"),
        )
        .await
        .expect("status");
        (state, error)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (state, error) = read_status().await;
        assert_ne!(state, "FAILED", "{error:?}");
        if state == "RETRYING" {
            let error = error.unwrap_or_default();
            assert!(error.contains("read-only"), "the error is named: {error}");
            break;
        }
        assert!(Instant::now() < deadline, "never RETRYING: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Well past max_attempts × backoff: still retrying, not failed.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(read_status().await.0, "RETRYING");

    sqlx::query(&format!(
        "ALTER DATABASE {database} RESET default_transaction_read_only"
    ))
    .execute(&mut admin)
    .await
    .expect("writable again");
    end_pooled_sessions(&mut admin, &db).await;
    let current = wait_for(&log, "products", |s| s.lag == 0).await;
    assert_eq!(current.state, "RUNNING");
    assert_eq!(current.last_error, None);
    assert_eq!(products_table(&db).await.len(), 2);
    running.stop().await;
}
