//! Moving the database: dumped from a cluster whose transaction counter is far ahead and
//! restored into a fresh cluster, the log keeps its order: a new order is confirmed by the
//! manager and shows in GraphQL, next to the ones from before the move.

use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use event_store::embedded::{self, Durability, EmbeddedPostgres};
use event_store::testing::private_server;
use event_store::EventLog;
use oms::cli::Role;
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt;

const LIMIT: Duration = Duration::from_secs(300);

async fn open(server: &EmbeddedPostgres) -> PgPool {
    let options = server.connect_options(embedded::DATABASE);
    embedded::ensure_database(&options, embedded::DATABASE)
        .await
        .expect("database");
    let pool = event_store::pool_options()
        .connect_with(options)
        .await
        .expect("pool");
    event_store::migrate(&pool).await.expect("migrate");
    pool
}

async fn call(app: &axum::Router, path: &str, body: Value, headers: &[(&str, String)]) -> Value {
    let mut request = Request::post(path).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Places an order for a new customer and waits until the manager confirmed it; its id
/// and the position of its confirmation.
async fn order_confirmed(app: &axum::Router, pool: &PgPool, sku: &str) -> (String, i64) {
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let customer = call(
        app,
        "/customers",
        json!({"name": "Ada", "email": email}),
        &[],
    )
    .await;
    let customer = customer["id"].as_str().expect("id").to_owned();
    let address = call(
        app,
        &format!("/customers/{customer}/addresses"),
        json!({"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
        &[],
    )
    .await;
    let order = call(
        app,
        "/orders",
        json!({"customer_id": customer, "shipping_address_id": address["address_id"], "lines": [{"sku": sku, "quantity": 1}]}),
        &[],
    )
    .await;
    let order = order["id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let confirmed: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM events WHERE aggregate_id = $1 AND event_type = 'OrderConfirmed'",
        )
        .bind(&order)
        .fetch_optional(pool)
        .await
        .expect("query");
        if let Some(position) = confirmed {
            return (order, position);
        }
        assert!(
            Instant::now() < deadline,
            "order {order} was never confirmed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn graphql_status(app: &axum::Router, order: &str, min_position: i64) -> Value {
    let query = json!({"query": format!("{{ order(id: \"{order}\") {{ status }} }}")});
    let answer = call(
        app,
        "/graphql",
        query,
        &[("OMS-Min-Position", min_position.to_string())],
    )
    .await;
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    answer["data"]["order"]["status"].clone()
}

fn dump_and_restore(from: &EmbeddedPostgres, to: &EmbeddedPostgres) {
    let file = tempfile::NamedTempFile::new().expect("dump file");
    let dump = Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(file.path())
        .arg(from.display_url(embedded::DATABASE))
        .output()
        .expect("pg_dump (Debian's postgresql-client, installed with postgresql)");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let restore = Command::new("pg_restore")
        .args(["--no-owner", "--dbname"])
        .arg(to.display_url(embedded::DATABASE))
        .arg(file.path())
        .output()
        .expect("pg_restore");
    assert!(
        restore.status.success(),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_log_restored_into_a_fresh_cluster_keeps_its_order() {
    tokio::time::timeout(LIMIT, async {
        let (_old_dir, old) = tokio::task::spawn_blocking(|| private_server(Durability::Off))
            .await
            .expect("join");
        let pool = open(&old).await;
        // Far ahead of a fresh cluster's counter, as a database in use for a while is.
        sqlx::query("DO $$ BEGIN FOR i IN 1..20000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$")
            .execute(&pool)
            .await
            .expect("advance the transaction counter");
        let log = EventLog::new(pool.clone());
        let app = oms::serve::app(Role::All, log.clone());
        let projectors = oms::serve::projectors(&log).spawn();
        call(&app, "/products", json!({"sku": "MOVE", "name": "Moving box", "price": {"amount": "4.50", "currency": "EUR"}, "stock": 100}), &[]).await;
        let (before, _) = order_confirmed(&app, &pool, "MOVE").await;
        projectors.stop().await;
        pool.close().await;

        let (_new_dir, new) = tokio::task::spawn_blocking(|| private_server(Durability::Off))
            .await
            .expect("join");
        let options = new.connect_options(embedded::DATABASE);
        embedded::ensure_database(&options, embedded::DATABASE)
            .await
            .expect("database");
        let (old, new) = tokio::task::spawn_blocking(move || {
            dump_and_restore(&old, &new);
            (old, new)
        })
        .await
        .expect("join");

        // Start on the new cluster as `oms serve` does: migrate, then every role.
        let pool = open(&new).await;
        let log = EventLog::new(pool.clone());
        let app = oms::serve::app(Role::All, log.clone());
        let projectors = oms::serve::projectors(&log).spawn();
        let (after, confirmed_at) = order_confirmed(&app, &pool, "MOVE").await;
        assert_eq!(graphql_status(&app, &after, confirmed_at).await, "CONFIRMED");
        assert_eq!(graphql_status(&app, &before, confirmed_at).await, "CONFIRMED");
        let product = call(&app, "/graphql", json!({"query": "{ product(sku: \"MOVE\") { reserved available } }"}), &[("OMS-Min-Position", confirmed_at.to_string())]).await;
        assert_eq!(product["data"]["product"], json!({"reserved": 2, "available": 98}));

        projectors.stop().await;
        pool.close().await;
        for server in [old, new] {
            tokio::task::spawn_blocking(move || server.stop())
                .await
                .expect("join")
                .expect("stop");
        }
    })
    .await
    .expect("the test hung");
}
