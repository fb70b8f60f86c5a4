//! Migrations as upgrades of a database in use, not only of an empty one.

use event_store::testing::TestDatabase;
use event_store::MIGRATOR;

/// Applies the SQL of migrations `versions` (their bookkeeping aside) to `db`.
async fn apply(db: &TestDatabase, versions: std::ops::RangeInclusive<i64>) {
    for migration in MIGRATOR.iter().filter(|m| versions.contains(&m.version)) {
        sqlx::raw_sql(&migration.sql)
            .execute(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("migration {}: {e}", migration.version));
    }
}

#[tokio::test]
async fn shipments_dispatched_before_order_fates_keep_their_orders_from_being_cancelled() {
    let db = TestDatabase::empty().await;
    apply(&db, 1..=5).await;
    let shipment = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Shipment', $1, 2, 'ShipmentDispatched', '1', '{}', '{}')",
    )
    .bind(shipment.to_string())
    .execute(&db.pool)
    .await
    .expect("a dispatched shipment");
    apply(&db, 6..=6).await;
    let fate: Option<String> =
        sqlx::query_scalar("SELECT fate FROM order_fates WHERE shipment_id = $1")
            .bind(shipment)
            .fetch_optional(&db.pool)
            .await
            .expect("fate");
    assert_eq!(fate.as_deref(), Some("DISPATCHED"));
}
