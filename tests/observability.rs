//! What a request leaves behind, through the application `oms serve` runs: its id (taken
//! or made, answered, on the events) and the metrics that count it.
//! One test in this binary, so the process's recorder counts only what it does.

mod support;

use axum::body::Body;
use axum::http::Request;
use oms::cli::Role;
use serde_json::{json, Value};
use support::platform::Platform;
use tower::ServiceExt;

async fn post(platform: &Platform, path: &str, id: Option<&str>, body: Value) -> (u16, String) {
    let mut request = Request::post(path).header("content-type", "application/json");
    if let Some(id) = id {
        request = request.header("x-request-id", id);
    }
    let response = platform
        .router
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("infallible");
    let answered = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every response has an x-request-id")
        .to_owned();
    (response.status().as_u16(), answered)
}

async fn correlation_of(platform: &Platform, aggregate_id: &str) -> String {
    sqlx::query_scalar("SELECT metadata->>'correlation_id' FROM events WHERE aggregate_id = $1")
        .bind(aggregate_id)
        .fetch_one(&platform.db.pool)
        .await
        .expect("event")
}

async fn metrics(platform: &Platform) -> String {
    let response = platform
        .router
        .clone()
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn has(metrics: &str, line: &str) {
    assert!(
        metrics.lines().any(|l| l == line),
        "no line {line:?} in\n{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_carry_their_id_to_the_events_and_are_counted() {
    let mut platform = Platform::new().await;
    platform.router = oms::serve::app(Role::All, platform.db.request_log());
    let product = json!({"sku": "OBS-1", "name": "Lamp", "price": {"amount": "10.00", "currency": "EUR"}, "stock": 5});

    // The caller's id is answered and becomes the events' correlation id.
    let (status, answered) =
        post(&platform, "/products", Some("checkout-42"), product.clone()).await;
    assert_eq!((status, answered.as_str()), (201, "checkout-42"));
    assert_eq!(correlation_of(&platform, "OBS-1").await, "checkout-42");

    // Without one (or with one that is not 1..=128 visible ASCII characters), a new one.
    let other = json!({"sku": "OBS-2", "name": "Mug", "price": {"amount": "4.00", "currency": "EUR"}, "stock": 5});
    let (status, answered) = post(&platform, "/products", Some("two words"), other).await;
    assert_eq!(status, 201);
    assert!(uuid::Uuid::parse_str(&answered).is_ok(), "{answered}");
    assert_eq!(correlation_of(&platform, "OBS-2").await, answered);

    // Refusals count by their problem type; an unknown route by no template.
    let (status, _) = post(&platform, "/products", None, product).await;
    assert_eq!(status, 409);
    let (status, _) = post(&platform, "/products", None, json!({"sku": ""})).await;
    assert_eq!(status, 422);
    let (status, _) = post(&platform, "/nowhere", None, json!({})).await;
    assert_eq!(status, 404);

    // An order's decision is measured from its placement.
    let projectors = platform.projectors().await;
    let customer = platform.customer().await;
    platform.place(&customer, &[("OBS-1", 1)]).await;
    platform.place(&customer, &[("OBS-2", 9)]).await;
    platform.settled().await;
    projectors.stop().await;

    // GraphQL operations count by type and outcome.
    let query = json!({"query": "{ products(first: 1) { totalCount } }"});
    let (status, _) = post(&platform, "/graphql", None, query).await;
    assert_eq!(status, 200);
    post(&platform, "/graphql", None, json!({"query": "{ nope }"})).await;

    let metrics = metrics(&platform).await;
    has(
        &metrics,
        r#"oms_graphql_requests_total{operation="query",outcome="ok"} 1"#,
    );
    has(
        &metrics,
        r#"oms_graphql_requests_total{operation="query",outcome="refused"} 1"#,
    );
    has(
        &metrics,
        r#"oms_commands_total{command="DefineProduct",outcome="accepted"} 2"#,
    );
    has(
        &metrics,
        r#"oms_commands_total{command="DefineProduct",outcome="sku-taken"} 1"#,
    );
    has(
        &metrics,
        r#"oms_commands_total{command="DefineProduct",outcome="validation-failed"} 1"#,
    );
    has(
        &metrics,
        r#"oms_commands_total{command="PlaceOrder",outcome="accepted"} 2"#,
    );
    has(
        &metrics,
        r#"oms_http_requests_total{route="/products",method="POST",status="201"} 2"#,
    );
    has(
        &metrics,
        r#"oms_http_requests_total{route="/products",method="POST",status="409"} 1"#,
    );
    has(
        &metrics,
        r#"oms_http_requests_total{route="unmatched",method="POST",status="404"} 1"#,
    );
    has(
        &metrics,
        r#"oms_http_request_duration_seconds_count{route="/orders",method="POST"} 2"#,
    );
    has(
        &metrics,
        r#"oms_command_duration_seconds_count{command="PlaceOrder"} 2"#,
    );
    has(
        &metrics,
        r#"oms_events_appended_total{aggregate="Product",event="ProductDefined"} 2"#,
    );
    has(
        &metrics,
        r#"oms_events_appended_total{aggregate="Order",event="OrderConfirmed"} 1"#,
    );
    has(
        &metrics,
        r#"oms_events_appended_total{aggregate="Order",event="OrderRejected"} 1"#,
    );
    has(
        &metrics,
        r#"oms_order_decision_seconds_count{outcome="confirmed"} 1"#,
    );
    has(
        &metrics,
        r#"oms_order_decision_seconds_count{outcome="rejected"} 1"#,
    );
    assert!(metrics.contains("oms_projection_batch_duration_seconds_count{projection=\"orders\"}"));
    assert!(metrics.contains("oms_projection_lag_events{projection=\"order-fulfillment\"} 0"));
    assert!(
        metrics.contains("\nprocess_resident_memory_bytes "),
        "{metrics}"
    );
    // Every family is described once.
    let helps: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("# HELP "))
        .collect();
    let mut unique = helps.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(helps.len(), unique.len(), "a family described twice");
}
