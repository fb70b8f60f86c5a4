//! One stuck database session cannot hold the command path: request statements wait for
//! locks and run for a bounded time, and every session ends a transaction left idle.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;
use support::Api;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_blocked_by_a_stuck_session_give_their_connections_back_in_time() {
    let api = Api::new().await;
    // A session claims an email and stalls inside its transaction, holding the row.
    let mut stuck = sqlx::PgConnection::connect_with(&api.db.options)
        .await
        .expect("stuck session");
    sqlx::query("BEGIN")
        .execute(&mut stuck)
        .await
        .expect("begin");
    sqlx::query("INSERT INTO customer_emails (email, customer_id) VALUES ('stuck@example.com', gen_random_uuid())")
        .execute(&mut stuck)
        .await
        .expect("claim");

    // More registrations of that email than the pool has connections: each waits for the
    // row, is refused after the lock timeout, and gives its connection back.
    let started = Instant::now();
    let blocked: Vec<_> = (0..30)
        .map(|_| {
            let router = api.router.clone();
            tokio::spawn(async move {
                let request = axum::http::Request::post("/customers")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(
                        json!({"name": "Ada", "email": "stuck@example.com"}).to_string(),
                    ))
                    .expect("request");
                tower::ServiceExt::oneshot(router, request)
                    .await
                    .expect("infallible")
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for request in blocked {
        assert_eq!(request.await.expect("request"), 503);
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    // The platform goes on while the stuck session still holds its row.
    let begun = Instant::now();
    api.post(
        "/customers",
        json!({"name": "Bob", "email": "bob@example.com"}),
    )
    .await
    .expect(201);
    assert!(
        begun.elapsed() < Duration::from_secs(2),
        "{:?}",
        begun.elapsed()
    );
    let _ = stuck.close().await;
}

#[tokio::test]
async fn every_session_ends_a_transaction_left_idle_and_requests_are_time_bounded() {
    let api = Api::new().await;
    let idle: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
        .fetch_one(&api.db.pool)
        .await
        .expect("show");
    assert_eq!(idle, "30s");
    let pool = api.db.request_log().pool().clone();
    let limits: (String, String, String) = sqlx::query_as(
        "SELECT current_setting('idle_in_transaction_session_timeout'),
                current_setting('statement_timeout'), current_setting('lock_timeout')",
    )
    .fetch_one(&pool)
    .await
    .expect("settings");
    assert_eq!(limits, ("30s".into(), "4s".into(), "2s".into()));
    // A statement that would run longer is cancelled: a transient failure (503), not a hang.
    let slow = sqlx::query("SELECT pg_sleep(10)").execute(&pool).await;
    let error = slow.expect_err("cancelled by statement_timeout");
    assert!(event_store::is_transient(&error), "{error}");
}
