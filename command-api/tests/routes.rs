//! Every command route of CONTRACT, through HTTP, on success.

mod support;

use domain::order::OrderCommand;
use domain::shipment::{ShipmentCommand, ShipmentLine};
use domain::values::{OrderId, ShipmentId};
use domain::{Order, Shipment};
use serde_json::json;
use support::Api;

#[tokio::test]
async fn customer_routes() {
    let api = Api::new().await;
    let created = api
        .post(
            "/customers",
            json!({"name": "  Ada Lovelace ", "email": "Ada@Example.com"}),
        )
        .await
        .expect(201);
    let id = created.id();
    assert_eq!(created.body["version"], 1);
    assert!(created.body["position"].as_i64().expect("position") > 0);
    assert_eq!(
        created.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some("\"1\"")
    );

    let renamed = api
        .post(
            &format!("/customers/{id}/rename"),
            json!({"name": "Ada King"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (renamed.id(), renamed.body["version"].as_i64()),
        (id.clone(), Some(2))
    );
    assert!(renamed.body["position"].as_i64() > created.body["position"].as_i64());

    api.post(
        &format!("/customers/{id}/change-email"),
        json!({"email": "ada@king.org"}),
    )
    .await
    .expect(200);
    let address = api
        .post(
            &format!("/customers/{id}/addresses"),
            json!({"label": "home", "line1": "Hauptstraße 1", "line2": "Hinterhaus", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
        )
        .await
        .expect(201);
    assert_eq!(address.body["version"], 4);
    assert!(address.body["address_id"]
        .as_str()
        .is_some_and(|a| uuid::Uuid::parse_str(a).is_ok()));

    let payloads = api.payloads(&id).await;
    assert_eq!(
        payloads[0]["CustomerRegistered"]["name"], "Ada Lovelace",
        "trimmed"
    );
    assert_eq!(
        payloads[0]["CustomerRegistered"]["email"], "Ada@Example.com",
        "spelling kept"
    );
    assert_eq!(
        payloads[3]["CustomerAddressAdded"]["address"]["label"],
        "home"
    );

    // The old email is free again after the change; the new one is taken.
    api.customer("Other", "ADA@example.com").await;
    api.post(
        "/customers",
        json!({"name": "Third", "email": "Ada@King.org"}),
    )
    .await
    .expect_problem(409, "email-taken");
}

#[tokio::test]
async fn product_routes() {
    let api = Api::new().await;
    let created = api
        .post("/products", json!({"sku": "BOTTLE-750", "name": "Bottle", "price": {"amount": "12.50", "currency": "EUR"}, "stock": 10}))
        .await
        .expect(201);
    assert_eq!(
        (created.id(), created.body["version"].as_i64()),
        ("BOTTLE-750".to_owned(), Some(1))
    );
    api.post(
        "/products/BOTTLE-750/change-price",
        json!({"price": {"amount": "13.90", "currency": "EUR"}}),
    )
    .await
    .expect(200);
    let restocked = api
        .post("/products/BOTTLE-750/restock", json!({"quantity": 5}))
        .await
        .expect(200);
    assert_eq!(restocked.body["version"], 3);
    let payloads = api.payloads("BOTTLE-750").await;
    assert_eq!(
        payloads[1]["ProductPriceChanged"]["price"],
        json!({"amount": "13.90", "currency": "EUR"})
    );
    assert_eq!(payloads[2]["ProductRestocked"]["quantity"], 5);
}

#[tokio::test]
async fn an_order_captures_the_price_acknowledged_before_it_was_placed() {
    let api = Api::new().await;
    api.product("BOTTLE", "12.50", "EUR", 10).await;
    api.product("CUP", "3.20", "EUR", 10).await;
    api.post(
        "/products/BOTTLE/change-price",
        json!({"price": {"amount": "11.00", "currency": "EUR"}}),
    )
    .await
    .expect(200);
    let body = api.order_body(json!([{"sku": "BOTTLE", "quantity": 2}, {"sku": "CUP", "quantity": 1}, {"sku": "BOTTLE", "quantity": 1}])).await;
    let placed = api.post("/orders", body).await.expect(201);
    assert_eq!(
        (
            placed.body["status"].as_str(),
            placed.body["version"].as_i64()
        ),
        (Some("PLACED"), Some(1))
    );
    let event = &api.payloads(&placed.id()).await[0]["OrderPlaced"];
    assert_eq!(
        event["lines"],
        json!([
            {"sku": "BOTTLE", "product_name": "Product BOTTLE", "quantity": 3, "unit_price": {"amount": "11.00", "currency": "EUR"}},
            {"sku": "CUP", "product_name": "Product CUP", "quantity": 1, "unit_price": {"amount": "3.20", "currency": "EUR"}},
        ])
    );
    assert_eq!(
        event["total"],
        json!({"amount": "36.20", "currency": "EUR"})
    );
    assert_eq!(event["shipping_address"]["city"], "Berlin");
}

#[tokio::test]
async fn order_pay_and_cancel_and_shipment_dispatch_and_deliver() {
    let api = Api::new().await;
    api.product("BOTTLE", "12.50", "EUR", 10).await;
    let body = api
        .order_body(json!([{"sku": "BOTTLE", "quantity": 2}]))
        .await;
    let order = api.post("/orders", body.clone()).await.expect(201).id();
    // The fulfilment process confirms orders; here cqrs-es does it directly on the log.
    let clock: domain::clock::SharedClock = std::sync::Arc::new(domain::clock::SystemClock);
    api.run::<Order>(&order, OrderCommand::Confirm, clock.clone())
        .await;
    let paid = api
        .post(&format!("/orders/{order}/pay"), json!({"amount": {"amount": "25.00", "currency": "EUR"}, "method": "card", "reference": "psp-1"}))
        .await
        .expect(200);
    assert_eq!(
        (paid.body["status"].as_str(), paid.body["version"].as_i64()),
        (Some("PAID"), Some(3))
    );

    let order_id: OrderId = order.parse().expect("uuid");
    let shipment = ShipmentId::for_order(order_id).to_string();
    let lines = vec![ShipmentLine {
        sku: domain::values::Sku::parse("BOTTLE").expect("sku"),
        product_name: domain::values::ProductName::parse("Bottle").expect("name"),
        quantity: domain::values::Quantity::new(2).expect("qty"),
    }];
    let address = serde_json::from_value(
        api.payloads(&order).await[0]["OrderPlaced"]["shipping_address"].clone(),
    )
    .expect("address");
    api.run::<Shipment>(
        &shipment,
        ShipmentCommand::Create {
            shipment_id: ShipmentId::for_order(order_id),
            order_id,
            address_id: serde_json::from_value(
                api.payloads(&order).await[0]["OrderPlaced"]["shipping_address_id"].clone(),
            )
            .expect("address id"),
            address,
            lines,
        },
        clock,
    )
    .await;
    let dispatched = api
        .post(
            &format!("/shipments/{shipment}/dispatch"),
            json!({"carrier": "DHL", "tracking_number": "JJD1"}),
        )
        .await
        .expect(200);
    assert_eq!(dispatched.body["status"], "DISPATCHED");
    // deliver takes `{}` or an empty body (still declared JSON).
    let delivered = api
        .send(
            axum::http::Request::post(format!("/shipments/{shipment}/deliver"))
                .header("content-type", "application/json")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            delivered.body["status"].as_str(),
            delivered.body["version"].as_i64()
        ),
        (Some("DELIVERED"), Some(3))
    );

    let other = api.post("/orders", body).await.expect(201).id();
    let cancelled = api
        .post(
            &format!("/orders/{other}/cancel"),
            json!({"reason": "changed my mind"}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled.body["status"], "CANCELLED");
}

#[tokio::test]
async fn a_command_that_changes_nothing_answers_the_current_version() {
    let api = Api::new().await;
    let id = api.customer("Ada", "ada@example.com").await;
    let first = api
        .post(
            &format!("/customers/{id}/rename"),
            json!({"name": "Ada King"}),
        )
        .await
        .expect(200);
    let again = api
        .post(
            &format!("/customers/{id}/rename"),
            json!({"name": "Ada King"}),
        )
        .await
        .expect(200);
    assert_eq!(
        again.body, first.body,
        "same version, same position: nothing appended"
    );
    assert_eq!(api.event_count().await, 2);
}
