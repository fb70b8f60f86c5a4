//! Idempotency-Key: replay, reuse, concurrency, and atomicity with the events.

mod support;

use serde_json::json;
use support::Api;

#[tokio::test]
async fn a_repeat_returns_the_first_response_and_appends_nothing() {
    let api = Api::new().await;
    let key = [("idempotency-key", "register-ada-1")];
    let first = api
        .post_with(
            "/customers",
            json!({"name": "Ada", "email": "ada@example.com"}),
            &key,
        )
        .await
        .expect(201);
    let events = api.event_count().await;
    let again = api
        .post_with(
            "/customers",
            json!({"name": "Ada", "email": "ada@example.com"}),
            &key,
        )
        .await
        .expect(201);
    assert_eq!(again.body, first.body, "the same id, version and position");
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(again.headers.get("etag"), first.headers.get("etag"));
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_eq!(api.event_count().await, events, "nothing appended");

    // Same key, other body (or other route): refused.
    api.post_with(
        "/customers",
        json!({"name": "Ada", "email": "other@example.com"}),
        &key,
    )
    .await
    .expect_problem(422, "idempotency-key-reused");
    api.post_with(
        &format!("/customers/{}/rename", first.id()),
        json!({"name": "Ada"}),
        &key,
    )
    .await
    .expect_problem(422, "idempotency-key-reused");
}

#[tokio::test]
async fn keys_must_be_1_to_200_visible_ascii_characters() {
    let api = Api::new().await;
    let long = "k".repeat(201);
    for bad in ["", "has space", long.as_str(), "tab\there"] {
        let reply = api
            .post_with(
                "/customers",
                json!({"name": "Ada", "email": "ada@example.com"}),
                &[("idempotency-key", bad)],
            )
            .await;
        reply.expect_problem(400, "malformed-request");
    }
    let ok = "k".repeat(200);
    api.post_with(
        "/customers",
        json!({"name": "Ada", "email": "ada@example.com"}),
        &[("idempotency-key", ok.as_str())],
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_append_once() {
    let api = std::sync::Arc::new(Api::new().await);
    api.product("BOTTLE", "1.00", "EUR", 0).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                api.post_with(
                    "/products/BOTTLE/restock",
                    json!({"quantity": 7}),
                    &[("idempotency-key", "restock-once")],
                )
                .await
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        bodies.push(task.await.expect("task").expect(200).body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every caller sees the one response: {bodies:?}"
    );
    let restocks = api.count_of("BOTTLE", "ProductRestocked").await;
    assert_eq!(restocks, 1);

    // Creating commands (a new customer each time) too: one customer, one claim.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                api.post_with(
                    "/customers",
                    json!({"name": "Ada", "email": "ada@example.com"}),
                    &[("idempotency-key", "create-once")],
                )
                .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("task").expect(201).id());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    let customers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'CustomerRegistered'")
            .fetch_one(&api.db.pool)
            .await
            .expect("count");
    assert_eq!(customers, 1);
}

#[tokio::test]
async fn a_failure_between_append_and_record_appends_nothing() {
    let api = Api::new().await;
    // Make recording this key fail inside the transaction, after the events were inserted.
    sqlx::query(
        "ALTER TABLE idempotency_keys ADD CONSTRAINT crash_between CHECK (key <> 'crash-me')",
    )
    .execute(&api.db.pool)
    .await
    .expect("constraint");
    let body = json!({"name": "Ada", "email": "ada@example.com"});
    let failed = api
        .post_with(
            "/customers",
            body.clone(),
            &[("idempotency-key", "crash-me")],
        )
        .await;
    assert_eq!(failed.status.as_u16(), 500, "{:?}", failed.body);
    assert_eq!(
        failed.body["detail"], "an internal error occurred",
        "the cause is logged, not shown"
    );
    assert_eq!(
        api.event_count().await,
        0,
        "the events rolled back with the record"
    );
    let claims: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_emails")
        .fetch_one(&api.db.pool)
        .await
        .expect("count");
    assert_eq!(
        claims, 0,
        "a failed registration leaves the email unclaimed"
    );

    sqlx::query("ALTER TABLE idempotency_keys DROP CONSTRAINT crash_between")
        .execute(&api.db.pool)
        .await
        .expect("drop");
    let retried = api
        .post_with(
            "/customers",
            body.clone(),
            &[("idempotency-key", "crash-me")],
        )
        .await
        .expect(201);
    assert!(
        retried.headers.get("idempotent-replayed").is_none(),
        "executed now, once"
    );
    api.post_with("/customers", body, &[("idempotency-key", "crash-me")])
        .await
        .expect(201);
    assert_eq!(api.event_count().await, 1);
}

#[tokio::test]
async fn a_keyed_request_with_nul_in_a_field_no_command_reads_is_recorded_and_replayed() {
    let api = Api::new().await;
    let key = [("idempotency-key", "register-nul-1")];
    // jsonb cannot store U+0000: the record keeps a digest of the body, not the body.
    let body = json!({"name": "Ada", "email": "ada@example.com", "note\u{0}": "x\u{0}y"});
    let first = api
        .post_with("/customers", body.clone(), &key)
        .await
        .expect(201);
    let again = api.post_with("/customers", body, &key).await.expect(201);
    assert_eq!(again.body, first.body);
    api.post_with(
        "/customers",
        json!({"name": "Ada", "email": "ada@example.com", "note\u{0}": "other"}),
        &key,
    )
    .await
    .expect_problem(422, "idempotency-key-reused");
}
