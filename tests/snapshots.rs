//! Aggregate snapshots: a load reads the latest snapshot and the few events after it, gives
//! exactly what a full fold gives, and ignores a snapshot of another schema version.

mod support;

use std::time::Duration;

use cqrs_es::Aggregate;
use domain::{Product, ProductEvent};
use event_store::aggregates::SNAPSHOT_EVERY;
use serde_json::{json, Value};
use support::platform::Platform;

const LIMIT: Duration = Duration::from_secs(120);

async fn full_fold(p: &Platform, sku: &str) -> Product {
    let payloads: Vec<Value> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE aggregate_type = 'Product' AND aggregate_id = $1
         ORDER BY sequence",
    )
    .bind(sku)
    .fetch_all(&p.db.pool)
    .await
    .expect("events");
    let mut product = Product::default();
    for payload in payloads {
        product.apply(serde_json::from_value::<ProductEvent>(payload).expect("event"));
    }
    product
}

/// (schema version, sequence, events after the snapshot) of `sku`'s snapshot.
async fn snapshot_of(p: &Platform, sku: &str) -> Option<(i32, i64, i64)> {
    sqlx::query_as(
        "SELECT s.schema_version, s.sequence,
                (SELECT count(*) FROM events e WHERE e.aggregate_type = s.aggregate_type
                   AND e.aggregate_id = s.aggregate_id AND e.sequence > s.sequence)
         FROM aggregate_snapshots s WHERE aggregate_type = 'Product' AND aggregate_id = $1",
    )
    .bind(sku)
    .fetch_optional(&p.db.pool)
    .await
    .expect("snapshot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_lived_aggregate_loads_from_its_snapshot_and_the_events_after_it() {
    tokio::time::timeout(LIMIT, async {
        let p = Platform::new().await;
        p.product("LONG", 10).await;
        assert_eq!(
            snapshot_of(&p, "LONG").await,
            None,
            "no snapshot before the first multiple"
        );
        for n in 1..=110 {
            p.ok("/products/LONG/restock", json!({"quantity": 1})).await;
            if n % 37 == 0 {
                let price = format!("{n}.00");
                p.ok(
                    "/products/LONG/change-price",
                    json!({"price": {"amount": price, "currency": "EUR"}}),
                )
                .await;
            }
        }
        // 1 definition, 110 restocks, 2 price changes: 113 events; the snapshot was taken
        // at the last multiple passed.
        let (version, sequence, after) = snapshot_of(&p, "LONG").await.expect("a snapshot");
        let expected_version = domain::events::SNAPSHOTS
            .iter()
            .find(|(t, _)| *t == "Product")
            .map(|(_, v)| *v as i32);
        assert_eq!(Some(version), expected_version);
        assert_eq!(sequence, 113 / SNAPSHOT_EVERY * SNAPSHOT_EVERY);
        assert!(after < SNAPSHOT_EVERY, "{after} events after the snapshot");
        let loaded = p.store.load::<Product>("LONG").await.expect("load");
        assert_eq!(loaded.version, 113);
        assert_eq!(loaded.aggregate, full_fold(&p, "LONG").await);
        assert_eq!(loaded.aggregate.on_hand(), 120);

        // A command answers from the snapshot path with the right version.
        let reply = p.ok("/products/LONG/restock", json!({"quantity": 1})).await;
        assert_eq!(reply["version"], 114);
    })
    .await
    .expect("the test hung");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_another_schema_version_is_ignored_and_replaced() {
    tokio::time::timeout(LIMIT, async {
        let p = Platform::new().await;
        p.product("OLD", 10).await;
        for _ in 0..30 {
            p.ok("/products/OLD/restock", json!({"quantity": 1})).await;
        }
        // As if the aggregate's fields had changed since: an old version, an old shape.
        sqlx::query(
            "UPDATE aggregate_snapshots SET schema_version = 0, state = '{\"gone\": 1}'
             WHERE aggregate_type = 'Product' AND aggregate_id = 'OLD'",
        )
        .execute(&p.db.pool)
        .await
        .expect("age the snapshot");
        let loaded = p.store.load::<Product>("OLD").await.expect("load");
        assert_eq!(loaded.version, 31);
        assert_eq!(loaded.aggregate, full_fold(&p, "OLD").await);
        for _ in 0..20 {
            p.ok("/products/OLD/restock", json!({"quantity": 1})).await;
        }
        let (version, sequence, _) = snapshot_of(&p, "OLD").await.expect("a snapshot");
        assert!(version > 0, "replaced at the next multiple");
        assert_eq!(sequence, 50);
        assert_eq!(
            p.store
                .load::<Product>("OLD")
                .await
                .expect("load")
                .aggregate
                .on_hand(),
            60
        );
    })
    .await
    .expect("the test hung");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregate_named_twice_in_one_load_is_loaded_once() {
    tokio::time::timeout(LIMIT, async {
        let p = Platform::new().await;
        p.product("TWICE", 10).await;
        for _ in 0..30 {
            p.ok("/products/TWICE/restock", json!({"quantity": 1}))
                .await;
        }
        let ids = ["TWICE".to_owned(), "TWICE".to_owned()];
        let many = p.store.load_many::<Product>(&ids).await.expect("load");
        let once = p.store.load::<Product>("TWICE").await.expect("load");
        assert_eq!(many.len(), 1);
        assert_eq!(many["TWICE"].version, once.version);
        assert_eq!(many["TWICE"].aggregate, full_fold(&p, "TWICE").await);
    })
    .await
    .expect("the test hung");
}
