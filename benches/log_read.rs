//! Reading the whole event log in batches, as a projection rebuild does.
//!
//! Seeds `OMS_BENCH_EVENTS` events (default 1,000,000) through the append path, then
//! reads them all twice: with the gapless reader (`EventLog::read_after`), and with the
//! baseline a rebuild could at best do, a plain keyset scan on `position` decoding the
//! same columns. Both run in this process against the same database, so the ratio is
//! meaningful on any machine. Target on the 2-core reference machine: >= 200,000 events/s.
//!
//! Run: `cargo bench --bench log_read` (uses DATABASE_URL, else an embedded PostgreSQL).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use cqrs_es::persist::SerializedEvent;
use event_store::testing::TestDatabase;
use event_store::{EventLog, LogFilter, LogPosition};
use serde_json::json;
use serde_json::value::RawValue;
use sqlx::Row;

const TARGET_EVENTS_PER_SECOND: f64 = 200_000.0;
const APPEND_BATCH: usize = 1_000;

fn events_to_seed() -> usize {
    std::env::var("OMS_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn batch_size() -> u32 {
    std::env::var("OMS_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// Order-like events: 100 events per aggregate, realistic payload sizes.
async fn seed(log: &EventLog, total: usize) -> f64 {
    let started = Instant::now();
    let mut batch = Vec::with_capacity(APPEND_BATCH);
    for n in 0..total {
        batch.push(SerializedEvent {
            aggregate_id: format!("order-{:08}", n / 100),
            sequence: n % 100 + 1,
            aggregate_type: "Order".into(),
            event_type: "OrderLineAdded".into(),
            event_version: "1".into(),
            payload: json!({
                "sku": format!("SKU-{:05}", n % 5_000),
                "product_name": "Stainless steel water bottle, 750 ml",
                "quantity": n % 7 + 1,
                "unit_price": { "amount": "12.50", "currency": "EUR" },
            }),
            metadata: json!({ "correlation_id": format!("{n:032x}") }),
        });
        if batch.len() == APPEND_BATCH {
            log.append(&batch).await.expect("seeding the log");
            batch.clear();
        }
    }
    if !batch.is_empty() {
        log.append(&batch).await.expect("seeding the log");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

async fn gapless_read(log: &EventLog, batch: u32) -> (usize, f64) {
    let started = Instant::now();
    let (mut after, mut count) = (LogPosition::START, 0);
    loop {
        let read = log
            .read_after(after, batch, &LogFilter::default())
            .await
            .expect("read_after");
        if read.events.is_empty() {
            break;
        }
        count += read.events.len();
        after = read.next;
    }
    (count, count as f64 / started.elapsed().as_secs_f64())
}

async fn baseline_read(db: &TestDatabase, batch: u32) -> (usize, f64) {
    let started = Instant::now();
    let (mut last, mut count) = (0_i64, 0);
    loop {
        let rows = sqlx::query(
            "SELECT position, transaction_id, aggregate_type, aggregate_id, sequence, event_type,
                    event_version, payload, metadata, recorded_at
             FROM events WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind(last)
        .bind(i64::from(batch))
        .fetch_all(&db.pool)
        .await
        .expect("baseline read");
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            // Decode exactly what the gapless reader decodes.
            let _: (i64, i64, String, String, i64, String, String) = (
                row.get(0),
                row.get(1),
                row.get(2),
                row.get(3),
                row.get(4),
                row.get(5),
                row.get(6),
            );
            let _: (Box<RawValue>, Box<RawValue>, chrono::DateTime<chrono::Utc>) = (
                row.get::<&RawValue, _>(7).to_owned(),
                row.get::<&RawValue, _>(8).to_owned(),
                row.get(9),
            );
        }
        count += rows.len();
        last = rows.last().map(|r| r.get(0)).unwrap_or(last);
    }
    (count, count as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let total = events_to_seed();
    let batch = batch_size();
    let db = TestDatabase::new().await;
    let log = db.log();
    eprintln!(
        "log_read: seeding {total} events through EventLog::append ({APPEND_BATCH} per append)..."
    );
    let append_rate = seed(&log, total).await;
    sqlx::query("VACUUM ANALYZE events")
        .execute(&db.pool)
        .await
        .expect("vacuum");

    // Warm the cache once, then measure each reader (best of two runs).
    let _ = baseline_read(&db, batch).await;
    let mut gapless = 0.0_f64;
    let mut baseline = 0.0_f64;
    for _ in 0..2 {
        let (n, rate) = gapless_read(&log, batch).await;
        assert_eq!(n, total, "the gapless reader returned every event");
        gapless = gapless.max(rate);
        let (n, rate) = baseline_read(&db, batch).await;
        assert_eq!(n, total);
        baseline = baseline.max(rate);
    }

    let verdict = if gapless >= TARGET_EVENTS_PER_SECOND {
        "met"
    } else {
        "NOT met"
    };
    println!("log_read ({total} events, batches of {batch}):");
    println!("  append (seeding, {APPEND_BATCH}/append)      {append_rate:>10.0} events/s");
    println!("  baseline: keyset scan on position   {baseline:>10.0} events/s");
    println!("  gapless read_after                   {gapless:>10.0} events/s");
    println!(
        "  ratio gapless / baseline             {:>10.2}",
        gapless / baseline
    );
    println!("  target >= {TARGET_EVENTS_PER_SECOND:.0} events/s: {verdict}");
}
