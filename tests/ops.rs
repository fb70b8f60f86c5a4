//! The operational routes every role serves.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use event_store::testing::TestDatabase;
use event_store::EventLog;
use oms::cli::Role;
use oms::serve::app;
use sqlx::{Connection, Executor};
use tower::ServiceExt;

async fn get(log: &EventLog, path: &str) -> (StatusCode, String, String) {
    get_as(Role::All, log, path).await
}

/// `GET path` from the application of `role`: status, content type, body.
async fn get_as(role: Role, log: &EventLog, path: &str) -> (StatusCode, String, String) {
    let response = app(role, log.clone())
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).expect("utf-8"),
    )
}

#[tokio::test]
async fn readyz_follows_the_schema_and_healthz_is_always_up() {
    let db = TestDatabase::empty().await;
    let log = db.log();
    assert_eq!(get(&log, "/healthz").await.0, StatusCode::OK);

    let (status, content_type, body) = get(&log, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "not migrated yet");
    assert_eq!(content_type, "application/problem+json");
    let problem: serde_json::Value = serde_json::from_str(&body).expect("problem json");
    assert_eq!(problem["type"], "/problems/service-unavailable");
    assert_eq!(problem["status"], 503);

    event_store::migrate(&db.pool).await.expect("migrate");
    assert_eq!(get(&log, "/readyz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn readyz_answers_503_within_a_second_when_the_database_hangs_or_is_gone() {
    let db = TestDatabase::new().await;
    let log = db.log();

    // A session holding an exclusive lock makes the readiness query wait indefinitely.
    let mut locker = sqlx::PgConnection::connect_with(&db.options)
        .await
        .expect("connect");
    locker
        .execute("BEGIN; LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let started = Instant::now();
    let (status, _, _) = get(&log, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // CONTRACT: 503 within 1 s (the check gives up after 0.9 s; slack for a busy machine).
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "took {:?}",
        started.elapsed()
    );
    locker.execute("ROLLBACK").await.expect("unlock");
    assert_eq!(get(&log, "/readyz").await.0, StatusCode::OK);

    // No server at all behind the pool.
    let gone = event_store::pool_options()
        .connect_lazy_with(db.options.clone().socket("/nonexistent-oms-socket-dir"));
    let (status, _, _) = get(&EventLog::new(gone), "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let (status, content_type, body) = get(&log, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(
        body.contains("\noms_up 1\n") || body.starts_with("# HELP oms_up"),
        "{body}"
    );
    assert!(body.contains("oms_event_log_head_position 0"), "{body}");
}

#[tokio::test]
async fn unknown_routes_are_problem_json_404_in_every_role() {
    let db = TestDatabase::new().await;
    for role in [
        Role::All,
        Role::CommandApi,
        Role::QueryGraphql,
        Role::Projector,
    ] {
        let response = app(role, db.log())
            .oneshot(
                Request::get("/no/such/route")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{role}");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(
            content_type.as_deref(),
            Some("application/problem+json"),
            "{role}"
        );
    }
    // The projector role serves no command routes.
    let response = app(Role::Projector, db.log())
        .oneshot(
            Request::post("/customers")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_projection_is_named_by_readyz_and_exposed_in_metrics() {
    let db = TestDatabase::new().await;
    let log = db.log();
    // An event no projector can decode: poison for `products`.
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Product', 'P', 1, 'ProductDefined', '1', '{\"ProductDefined\": {\"broken\": true}}', '{}')",
    )
    .execute(&db.pool)
    .await
    .expect("poison");
    let projectors = oms::serve::projectors(&log).spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM projection_checkpoints WHERE name = 'products'")
                .fetch_optional(&db.pool)
                .await
                .expect("state");
        if state.as_deref() == Some("FAILED") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "products never FAILED: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, body) = get(&log, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("products"), "{body}");
    // A role that runs no projectors stays ready, and still names it.
    let (status, _, body) = get_as(Role::CommandApi, &log, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let ready: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        ready["failed_projections"]
            .as_array()
            .expect("list")
            .iter()
            .any(|n| n == "products"),
        "{ready}"
    );

    let (_, _, metrics) = get(&log, "/metrics").await;
    assert!(
        metrics.contains("oms_projection_state{projection=\"products\",state=\"FAILED\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("oms_projection_lag_events{projection=\"products\"} 1"),
        "{metrics}"
    );
    projectors.stop().await;
}
