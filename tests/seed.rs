//! `oms seed`: demo data through the command path, every status reached, the same data
//! for the same seed, the read models caught up when it returns.

mod support;

use std::collections::BTreeMap;

use event_store::testing::TestDatabase;
use serde_json::Value;
use sqlx::PgPool;
use support::{data_dir, oms};

const SIZES: [&str; 6] = ["--customers", "15", "--products", "12", "--orders", "150"];

async fn seeded(seed: &str) -> TestDatabase {
    let db = TestDatabase::new().await;
    let dir = data_dir();
    let output = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .arg("seed")
        .args(SIZES)
        .args(["--seed", seed])
        .output()
        .expect("oms seed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Not a terminal: plain progress lines, and a summary.
    assert!(
        stderr.contains("place orders: done, 150 commands"),
        "{stderr}"
    );
    assert!(
        stderr.contains("seeded 15 customers, 12 products and 150 orders"),
        "{stderr}"
    );
    db
}

/// Ids (UUIDs) and times as placeholders: what stays is what the seed decided.
fn normalized(value: &Value) -> Value {
    match value {
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => Value::String("<id>".into()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "at" || k.ends_with("_at") {
                        Value::String("<time>".into())
                    } else {
                        normalized(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        other => other.clone(),
    }
}

/// Every event without ids and times (a multiset: sorted), and every order's,
/// customer's and shipment's sequence of event types (sorted).
async fn contents(pool: &PgPool) -> (Vec<String>, Vec<String>) {
    let rows: Vec<(String, String, String, Value)> = sqlx::query_as(
        "SELECT aggregate_type, aggregate_id, event_type, payload FROM events
         ORDER BY aggregate_type, aggregate_id, sequence",
    )
    .fetch_all(pool)
    .await
    .expect("events");
    let mut events: Vec<String> = rows
        .iter()
        .map(|(kind, _, event, payload)| format!("{kind} {event} {}", normalized(payload)))
        .collect();
    events.sort();
    let mut histories: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for (kind, id, event, _) in &rows {
        if kind != "Product" {
            histories.entry((kind, id)).or_default().push(event);
        }
    }
    let mut histories: Vec<String> = histories
        .iter()
        .map(|((kind, _), events)| format!("{kind}: {}", events.join(" ")))
        .collect();
    histories.sort();
    (events, histories)
}

async fn statuses(pool: &PgPool) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT status, count(*) FROM orders GROUP BY status")
        .fetch_all(pool)
        .await
        .expect("orders read model")
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_reaches_every_status_through_commands_and_repeats_itself_for_the_same_seed() {
    let first = seeded("7").await;
    let pool = first.pool.clone();

    // The orders read model is caught up and holds every status.
    let statuses = statuses(&pool).await;
    for status in [
        "CONFIRMED",
        "PAID",
        "SHIPPED",
        "DELIVERED",
        "CANCELLED",
        "REJECTED",
    ] {
        assert!(
            statuses.get(status).copied().unwrap_or(0) > 0,
            "{status}: {statuses:?}"
        );
    }
    assert_eq!(statuses.values().sum::<i64>(), 150);
    let lag: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projection_checkpoints c, events e WHERE e.position > c.position",
    )
    .fetch_one(&pool)
    .await
    .expect("lag");
    assert_eq!(lag, 0, "a projection is behind the log");

    // Every event came from a command or from order-fulfillment's reactions.
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT metadata->>'actor' FROM events ORDER BY 1")
            .fetch_all(&pool)
            .await
            .expect("actors");
    assert_eq!(actors.len(), 2, "{actors:?}");

    let second = seeded("7").await;
    let other = seeded("8").await;
    let (first, second, other) = (
        contents(&pool).await,
        contents(&second.pool).await,
        contents(&other.pool).await,
    );
    assert_eq!(first.0.len(), second.0.len());
    assert!(first.0 == second.0, "the same seed gave other events");
    assert!(first.1 == second.1, "the same seed gave other histories");
    assert!(first.0 != other.0, "another seed gave the same events");
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_refuses_orders_without_customers_before_writing_anything() {
    let db = TestDatabase::new().await;
    let dir = data_dir();
    let output = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["seed", "--customers", "0", "--orders", "5"])
        .output()
        .expect("oms seed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("orders need at least one customer"),
        "{stderr}"
    );
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(events, 0);
}
