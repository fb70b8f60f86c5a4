//! Every problem a client can cause, as problem+json with the CONTRACT slug and status;
//! none of them is a 500.

mod support;

use axum::body::Body;
use axum::http::Request;
use serde_json::json;
use support::Api;

#[tokio::test]
async fn malformed_bodies_are_400() {
    let api = Api::new().await;
    for body in [
        "{not json",
        "[1, 2]",
        "\"a string\"",
        "null",
        "42",
        "{\"name\": 5, \"email\": \"a@b.co\"}",
        "{\"name\": \"Ada\", \"email\": [\"x\"]}",
    ] {
        let request = Request::post("/customers")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request");
        api.send(request)
            .await
            .expect_problem(400, "malformed-request");
    }
    // A number where a number belongs, but not an integer, is the wrong type too.
    api.post("/products/X/restock", json!({"quantity": 1.5}))
        .await
        .expect_problem(400, "malformed-request");
    api.post("/customers", json!({}))
        .await
        .expect_problem(422, "validation-failed");
}

#[tokio::test]
async fn media_type_size_route_and_method() {
    let api = Api::new().await;
    let text = Request::post("/customers")
        .header("content-type", "text/plain")
        .body(Body::from("{}"))
        .expect("request");
    api.send(text)
        .await
        .expect_problem(415, "unsupported-media-type");
    let none = Request::post("/customers")
        .body(Body::from("{\"name\":\"Ada\"}"))
        .expect("request");
    api.send(none)
        .await
        .expect_problem(415, "unsupported-media-type");
    let json_suffix = Request::post("/customers")
        .header(
            "content-type",
            "application/merge-patch+json; charset=utf-8",
        )
        .body(Body::from(
            "{\"name\":\"Ada\",\"email\":\"ada@example.com\"}",
        ))
        .expect("request");
    api.send(json_suffix).await.expect(201);

    let big = json!({"name": "x".repeat(70 * 1024), "email": "a@b.co"}).to_string();
    let request = Request::post("/customers")
        .header("content-type", "application/json")
        .body(Body::from(big.clone()))
        .expect("request");
    api.send(request)
        .await
        .expect_problem(413, "payload-too-large");
    // Without a Content-Length header (a stream), the limit holds too.
    let stream = Body::from_stream(futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
        big.into_bytes(),
    )]));
    let request = Request::post("/customers")
        .header("content-type", "application/json")
        .body(stream)
        .expect("request");
    api.send(request)
        .await
        .expect_problem(413, "payload-too-large");

    let get = Request::get("/customers")
        .body(Body::empty())
        .expect("request");
    api.send(get)
        .await
        .expect_problem(405, "method-not-allowed");
}

#[tokio::test]
async fn every_broken_field_is_listed() {
    let api = Api::new().await;
    let reply = api
        .post("/orders", json!({"customer_id": "nope", "lines": [{"sku": "OK", "quantity": 1}, {"sku": "no good", "quantity": 0}]}))
        .await
        .expect_problem(422, "validation-failed");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        [
            "customer_id",
            "shipping_address_id",
            "lines[1].sku",
            "lines[1].quantity"
        ]
    );
    assert!(reply.body["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));

    let reply = api
        .post("/products", json!({"sku": "A B", "name": "", "price": {"amount": "1.005", "currency": "eur"}, "stock": -1}))
        .await
        .expect_problem(422, "validation-failed");
    assert_eq!(reply.body["errors"].as_array().map(Vec::len), Some(5));
    api.post("/products", json!({"sku": "S", "name": "n", "price": {"amount": "1", "currency": "EUR"}, "stock": 1_000_001}))
        .await
        .expect_problem(422, "validation-failed");
    api.post("/customers", json!({"name": "Ada", "email": "no-at-sign"}))
        .await
        .expect_problem(422, "validation-failed");
    let id = api.customer("Ada", "ada@example.com").await;
    api.post(
        &format!("/customers/{id}/addresses"),
        json!({"line1": "x", "city": "y", "postal_code": "1", "country": "de"}),
    )
    .await
    .expect_problem(422, "validation-failed");
    // 101 lines, counted as sent.
    let lines: Vec<_> = (0..101)
        .map(|_| json!({"sku": "A", "quantity": 1}))
        .collect();
    api.post(
        "/orders",
        json!({"customer_id": id, "shipping_address_id": id, "lines": lines}),
    )
    .await
    .expect_problem(422, "validation-failed");
}

#[tokio::test]
async fn field_rules_come_before_lookups() {
    let api = Api::new().await;
    // A broken field and an unknown sku (and customer): validation wins.
    let body = json!({"customer_id": uuid::Uuid::new_v4(), "shipping_address_id": uuid::Uuid::new_v4(), "lines": [{"sku": "UNKNOWN", "quantity": 0}]});
    api.post("/orders", body)
        .await
        .expect_problem(422, "validation-failed");
}

#[tokio::test]
async fn unknown_things_are_404_or_422() {
    let api = Api::new().await;
    let missing = uuid::Uuid::new_v4();
    for path in [
        format!("/customers/{missing}/rename"),
        "/customers/not-a-uuid/rename".to_owned(),
        format!("/orders/{missing}/cancel"),
        format!("/shipments/{missing}/dispatch"),
        "/shipments/xyz/deliver".to_owned(),
        "/products/NOPE/restock".to_owned(),
        "/products/bad%20sku/restock".to_owned(),
        "/no/such/route".to_owned(),
    ] {
        let body = json!({"name": "x", "reason": "x", "carrier": "c", "tracking_number": "t", "quantity": 1});
        let reply = api.post(&path, body).await;
        if path == "/no/such/route" {
            // Unknown routes fall outside the command router: the service's fallback.
            assert_eq!(reply.status.as_u16(), 404);
            continue;
        }
        reply.expect_problem(404, "not-found");
    }

    api.product("BOTTLE", "12.50", "EUR", 10).await;
    api.product("HAT", "20.00", "USD", 10).await;
    let body = api
        .order_body(json!([{"sku": "BOTTLE", "quantity": 1}]))
        .await;
    let mut unknown_customer = body.clone();
    unknown_customer["customer_id"] = json!(missing);
    api.post("/orders", unknown_customer)
        .await
        .expect_problem(422, "unknown-customer");
    let mut unknown_address = body.clone();
    unknown_address["shipping_address_id"] = json!(missing);
    api.post("/orders", unknown_address)
        .await
        .expect_problem(422, "unknown-address");
    let mut unknown_sku = body.clone();
    unknown_sku["lines"] =
        json!([{"sku": "BOTTLE", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]);
    let reply = api
        .post("/orders", unknown_sku)
        .await
        .expect_problem(422, "unknown-sku");
    assert!(reply.body["detail"]
        .as_str()
        .is_some_and(|d| d.contains("NOPE")));
    let mut mixed = body.clone();
    mixed["lines"] = json!([{"sku": "BOTTLE", "quantity": 1}, {"sku": "HAT", "quantity": 1}]);
    api.post("/orders", mixed)
        .await
        .expect_problem(422, "currency-mismatch");
}

#[tokio::test]
async fn state_conflicts_are_409_and_payment_mismatch_422() {
    let api = Api::new().await;
    api.product("BOTTLE", "12.50", "EUR", 10).await;
    api.post("/products", json!({"sku": "BOTTLE", "name": "Again", "price": {"amount": "1", "currency": "EUR"}, "stock": 1}))
        .await
        .expect_problem(409, "sku-taken");
    api.customer("Ada", "ada@example.com").await;
    api.post(
        "/customers",
        json!({"name": "Imposter", "email": "ADA@EXAMPLE.COM"}),
    )
    .await
    .expect_problem(409, "email-taken");

    let order = api
        .post(
            "/orders",
            api.order_body(json!([{"sku": "BOTTLE", "quantity": 2}]))
                .await,
        )
        .await
        .expect(201)
        .id();
    // Not confirmed yet: paying is not allowed.
    let pay = json!({"amount": {"amount": "25.00", "currency": "EUR"}, "method": "card", "reference": "r"});
    api.post(&format!("/orders/{order}/pay"), pay.clone())
        .await
        .expect_problem(409, "invalid-transition");
    let clock: domain::clock::SharedClock = std::sync::Arc::new(domain::clock::SystemClock);
    api.run::<domain::Order>(&order, domain::OrderCommand::Confirm, clock)
        .await;
    let wrong = json!({"amount": {"amount": "24.99", "currency": "EUR"}, "method": "card", "reference": "r"});
    api.post(&format!("/orders/{order}/pay"), wrong)
        .await
        .expect_problem(422, "payment-mismatch");
    let wrong_currency = json!({"amount": {"amount": "25.00", "currency": "USD"}, "method": "card", "reference": "r"});
    api.post(&format!("/orders/{order}/pay"), wrong_currency)
        .await
        .expect_problem(422, "payment-mismatch");
    api.post(&format!("/orders/{order}/cancel"), json!({"reason": "no"}))
        .await
        .expect(200);
    api.post(
        &format!("/orders/{order}/cancel"),
        json!({"reason": "again"}),
    )
    .await
    .expect_problem(409, "invalid-transition");

    // The 21st address.
    let customer = api.customer("Many", "many@example.com").await;
    for _ in 0..20 {
        api.address(&customer).await;
    }
    api.post(
        &format!("/customers/{customer}/addresses"),
        json!({"line1": "x", "city": "y", "postal_code": "1", "country": "DE"}),
    )
    .await
    .expect_problem(409, "invalid-transition");
}

#[tokio::test]
async fn if_match_guards_the_version() {
    let api = Api::new().await;
    let id = api.customer("Ada", "ada@example.com").await;
    let path = format!("/customers/{id}/rename");
    api.post_with(&path, json!({"name": "Ada K"}), &[("if-match", "\"1\"")])
        .await
        .expect(200);
    let stale = api
        .post_with(&path, json!({"name": "Ada L"}), &[("if-match", "\"1\"")])
        .await
        .expect_problem(412, "precondition-failed");
    assert!(stale.body["detail"]
        .as_str()
        .is_some_and(|d| d.contains('2')));
    api.post_with(&path, json!({"name": "Ada L"}), &[("if-match", "garbage")])
        .await
        .expect_problem(412, "precondition-failed");
    api.post_with(&path, json!({"name": "Ada L"}), &[("if-match", "\"2\"")])
        .await
        .expect(200);
}

#[tokio::test]
async fn control_characters_in_text_are_422_naming_the_field_and_never_reach_the_log() {
    let api = Api::new().await;
    let before = api.event_count().await;
    for (path, body, field) in [
        (
            "/customers",
            json!({"name": "Ada\u{0}Lovelace", "email": "ada@example.com"}),
            "name",
        ),
        (
            "/customers",
            json!({"name": "Ada", "email": "ada\u{0}@example.com"}),
            "email",
        ),
        (
            "/customers",
            json!({"name": "Ada\u{7}", "email": "ada@example.com"}),
            "name",
        ),
        (
            "/customers",
            json!({"name": "Ada\nLovelace", "email": "ada@example.com"}),
            "name",
        ),
        (
            "/products",
            json!({"sku": "NUL", "name": "Bottle\u{0}", "price": {"amount": "1.00", "currency": "EUR"}, "stock": 1}),
            "name",
        ),
    ] {
        let reply = api
            .post(path, body)
            .await
            .expect_problem(422, "validation-failed");
        assert_eq!(reply.body["errors"][0]["field"], field, "{:?}", reply.body);
    }
    let customer = api.customer("Ada", "ada@example.com").await;
    let address = json!({"line1": "Haupt\u{0}straße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"});
    let reply = api
        .post(&format!("/customers/{customer}/addresses"), address)
        .await
        .expect_problem(422, "validation-failed");
    assert_eq!(reply.body["errors"][0]["field"], "line1");
    assert_eq!(
        api.event_count().await,
        before + 1,
        "only the registration was appended"
    );
}

#[tokio::test]
async fn free_text_keeps_line_breaks_but_no_other_control_characters() {
    let api = Api::new().await;
    api.product("P", "1.00", "EUR", 10).await;
    let body = api.order_body(json!([{"sku": "P", "quantity": 1}])).await;
    let order = api.post("/orders", body).await.expect(201).id();
    api.post(
        &format!("/orders/{order}/cancel"),
        json!({"reason": "a\u{0}b"}),
    )
    .await
    .expect_problem(422, "validation-failed");
    api.post(
        &format!("/orders/{order}/cancel"),
        json!({"reason": "first line\nsecond\tline"}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn ids_in_paths_are_uuids_however_they_are_written() {
    let api = Api::new().await;
    let customer = api.customer("Ada", "ada@example.com").await;
    let upper = customer.to_uppercase();
    let reply = api
        .post(
            &format!("/customers/{upper}/rename"),
            json!({"name": "Ada L."}),
        )
        .await
        .expect(200);
    assert_eq!(reply.id(), customer, "the id answered is the canonical one");
    let simple = customer.replace('-', "");
    api.post(
        &format!("/customers/{simple}/rename"),
        json!({"name": "Ada K."}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn an_empty_body_must_still_be_declared_json() {
    let api = Api::new().await;
    // What a cross-site HTML form can send without CORS: no JSON media type.
    for content_type in [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
    ] {
        let mut request = Request::post("/shipments/9b2f4a4e-1d57-4a4e-9c57-1b2f4a4e1d57/deliver");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        api.send(request.body(Body::empty()).expect("request"))
            .await
            .expect_problem(415, "unsupported-media-type");
    }
}
