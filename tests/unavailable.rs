//! With PostgreSQL stopped, commands answer 503 within 5 s and /readyz is 503; service
//! comes back by itself when the database does.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use event_store::embedded::{self, Durability, EmbeddedPostgres};
use event_store::testing::private_server;
use event_store::EventLog;
use oms::cli::Role;
use oms::serve::app;
use tower::ServiceExt;

async fn post_customer(router: &axum::Router, email: &str) -> (u16, serde_json::Value) {
    let body = serde_json::json!({"name": "Ada", "email": email}).to_string();
    let request = Request::post("/customers")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, serde_json::from_slice(&bytes).expect("json"))
}

async fn readyz(router: &axum::Router) -> u16 {
    let response = router
        .clone()
        .oneshot(
            Request::get("/readyz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    response.status().as_u16()
}

fn restart(dir: &std::path::Path) -> EmbeddedPostgres {
    EmbeddedPostgres::start(dir, Durability::Off).expect("restarting PostgreSQL")
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_answer_503_while_the_database_is_down_and_recover() {
    let (dir, server) = tokio::task::spawn_blocking(|| private_server(Durability::Off))
        .await
        .expect("join");
    let options = server.connect_options(embedded::DATABASE);
    embedded::ensure_database(&options, embedded::DATABASE)
        .await
        .expect("database");
    let pool = event_store::pool_options().connect_lazy_with(options);
    event_store::migrate(&pool).await.expect("migrate");
    let router = app(Role::All, EventLog::new(pool));
    assert_eq!(post_customer(&router, "a@example.com").await.0, 201);
    assert_eq!(readyz(&router).await, 200);

    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("join")
        .expect("stopping PostgreSQL");
    let started = Instant::now();
    let (status, problem) = post_customer(&router, "b@example.com").await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (503, Some("/problems/service-unavailable")),
        "{problem}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(readyz(&router).await, 503);

    let server = tokio::task::spawn_blocking({
        let root = dir.path().to_owned();
        move || restart(&root)
    })
    .await
    .expect("join");
    let (status, body) = post_customer(&router, "c@example.com").await;
    assert_eq!(status, 201, "recovered by itself: {body}");
    assert_eq!(readyz(&router).await, 200);
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("join")
        .expect("stopping PostgreSQL");
}
