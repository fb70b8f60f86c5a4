//! CONTRACT's role table over every command route, with authentication on: admin, staff,
//! a customer acting on its own aggregates and one acting on another's, and every kind
//! of missing or invalid token. Also: a customer registers the customer its token names,
//! every event records its actor, and idempotency keys are scoped per subject.

mod support;

use auth::testing;
use auth::Role;
use domain::values::{CustomerId, OrderId, ShipmentId};
use serde_json::{json, Value};
use support::{Api, Reply};

fn bearer(token: &str) -> String {
    testing::bearer(token)
}

async fn post_as(api: &Api, token: &str, path: &str, body: Value) -> Reply {
    api.post_with(path, body, &[("authorization", &bearer(token))])
        .await
}

/// Ada (whose token is the owner's) and Bob, a product, and Ada's order, made by admin.
struct Shop {
    ada: String,
    address: String,
    order: String,
}

async fn shop(api: &Api, admin: &str) -> (Shop, String) {
    let ada = post_as(
        api,
        admin,
        "/customers",
        json!({"name": "Ada", "email": "ada@example.com"}),
    )
    .await
    .expect(201)
    .id();
    let bob = post_as(
        api,
        admin,
        "/customers",
        json!({"name": "Bob", "email": "bob@example.com"}),
    )
    .await
    .expect(201)
    .id();
    let address = post_as(
        api,
        admin,
        &format!("/customers/{ada}/addresses"),
        json!({"line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
    )
    .await
    .expect(201)
    .body["address_id"]
        .as_str()
        .expect("address id")
        .to_owned();
    post_as(
        api,
        admin,
        "/products",
        json!({"sku": "TEA", "name": "Tea", "price": {"amount": "2.00", "currency": "EUR"}, "stock": 1000}),
    )
    .await
    .expect(201);
    let order = post_as(
        api,
        admin,
        "/orders",
        json!({"customer_id": ada, "shipping_address_id": address, "lines": [{"sku": "TEA", "quantity": 1}]}),
    )
    .await
    .expect(201)
    .id();
    (
        Shop {
            ada,
            address,
            order,
        },
        bob,
    )
}

#[tokio::test]
async fn every_route_admits_exactly_the_roles_of_the_contract() {
    let api = Api::authenticated().await;
    let admin = testing::token(Role::Admin, None);
    let (shop, bob) = shop(&api, &admin).await;
    let ada_id = CustomerId::parse(&shop.ada).expect("uuid");
    let bob_id = CustomerId::parse(&bob).expect("uuid");
    let callers = [
        ("admin", admin.clone()),
        ("staff", testing::token(Role::Staff, None)),
        (
            "customer-owner",
            testing::token(Role::Customer, Some(ada_id)),
        ),
        (
            "customer-other",
            testing::token(Role::Customer, Some(bob_id)),
        ),
    ];
    let shipment = ShipmentId::for_order(OrderId::parse(&shop.order).expect("uuid"));
    let (ada, order) = (&shop.ada, &shop.order);
    // Route, body (`{n}`: a number unique to the attempt), and the status for admin,
    // staff, the owner and another customer. Commands run in this order; a status other
    // than 401/403 means the command got past authorization to the domain (409: the order
    // is not CONFIRMED, or already cancelled; 404: no shipment, as nothing pays here).
    let table: Vec<(String, Value, [u16; 4])> = vec![
        (
            "/customers".into(),
            json!({"name": "New", "email": "new{n}@example.com"}),
            [201, 201, 409, 409],
        ),
        (
            format!("/customers/{ada}/rename"),
            json!({"name": "Ada {n}"}),
            [200, 403, 200, 403],
        ),
        (
            format!("/customers/{ada}/change-email"),
            json!({"email": "ada{n}@example.com"}),
            [200, 403, 200, 403],
        ),
        (
            format!("/customers/{ada}/addresses"),
            json!({"line1": "{n} Side St", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
            [201, 403, 201, 403],
        ),
        (
            "/products".into(),
            json!({"sku": "P{n}", "name": "P", "price": {"amount": "1.00", "currency": "EUR"}, "stock": 5}),
            [201, 201, 403, 403],
        ),
        (
            "/products/TEA/change-price".into(),
            json!({"price": {"amount": "2.50", "currency": "EUR"}}),
            [200, 200, 403, 403],
        ),
        (
            "/products/TEA/restock".into(),
            json!({"quantity": 1}),
            [200, 200, 403, 403],
        ),
        (
            "/orders".into(),
            json!({"customer_id": ada, "shipping_address_id": shop.address, "lines": [{"sku": "TEA", "quantity": 1}]}),
            [201, 403, 201, 403],
        ),
        (
            format!("/orders/{order}/pay"),
            json!({"amount": {"amount": "2.00", "currency": "EUR"}, "method": "card", "reference": "r{n}"}),
            [409, 403, 409, 403],
        ),
        (
            format!("/orders/{order}/cancel"),
            json!({"reason": "changed my mind"}),
            [200, 409, 409, 403],
        ),
        (
            format!("/shipments/{shipment}/dispatch"),
            json!({"carrier": "DHL", "tracking_number": "T{n}"}),
            [404, 404, 403, 403],
        ),
        (
            format!("/shipments/{shipment}/deliver"),
            json!({}),
            [404, 404, 403, 403],
        ),
    ];
    let mut n = 0;
    let mut failures = Vec::new();
    for (path, body, expected) in &table {
        for ((who, token), status) in callers.iter().zip(expected) {
            n += 1;
            let body: Value =
                serde_json::from_str(&body.to_string().replace("{n}", &n.to_string()))
                    .expect("JSON");
            let reply = post_as(&api, token, path, body).await;
            if reply.status.as_u16() != *status {
                failures.push(format!(
                    "{path} as {who}: {} (expected {status}): {}",
                    reply.status, reply.body
                ));
            } else if *status == 403 && reply.slug() != "forbidden" {
                failures.push(format!("{path} as {who}: {}", reply.body));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn missing_and_invalid_tokens_are_401_on_every_route() {
    let api = Api::authenticated().await;
    let id = uuid::Uuid::new_v4();
    let paths = [
        "/customers".to_owned(),
        format!("/customers/{id}/rename"),
        format!("/customers/{id}/change-email"),
        format!("/customers/{id}/addresses"),
        "/products".to_owned(),
        "/products/TEA/change-price".to_owned(),
        "/products/TEA/restock".to_owned(),
        "/orders".to_owned(),
        format!("/orders/{id}/pay"),
        format!("/orders/{id}/cancel"),
        format!("/shipments/{id}/dispatch"),
        format!("/shipments/{id}/deliver"),
    ];
    let tokens = [
        ("no token", None),
        ("expired", Some(testing::expired())),
        ("wrong issuer", Some(testing::wrong_issuer())),
        ("wrong audience", Some(testing::wrong_audience())),
        ("tampered signature", Some(testing::tampered())),
        ("alg none", Some(testing::alg_none())),
        ("not a bearer", Some("Basic YWRtaW46YWRtaW4=".to_owned())),
    ];
    for path in &paths {
        for (what, token) in &tokens {
            let header = token.as_ref().map(|t| {
                if t.starts_with("Basic ") {
                    t.clone()
                } else {
                    bearer(t)
                }
            });
            let headers: Vec<(&str, &str)> = header
                .as_deref()
                .map(|h| vec![("authorization", h)])
                .unwrap_or_default();
            let reply = api.post_with(path, json!({}), &headers).await;
            let challenge = reply
                .headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let reply = reply.expect_problem(401, "unauthorized");
            let expected = if token.is_some() {
                "Bearer error=\"invalid_token\""
            } else {
                "Bearer"
            };
            assert_eq!(challenge, expected, "{path} with {what}: {:?}", reply.body);
        }
    }
    assert_eq!(api.event_count().await, 0, "nothing ran");
}

#[tokio::test]
async fn a_customer_token_registers_its_own_customer_once() {
    let api = Api::authenticated().await;
    let token = testing::subject_token("alice");
    let first = post_as(
        &api,
        &token,
        "/customers",
        json!({"name": "Alice", "email": "alice@example.com"}),
    )
    .await
    .expect(201);
    assert_eq!(
        first.id(),
        CustomerId::for_subject(testing::ISSUER, "alice").to_string(),
        "the id is derived from the issuer and subject"
    );
    // The same subject's next token acts as the same customer.
    let again = testing::subject_token("alice");
    post_as(
        &api,
        &again,
        &format!("/customers/{}/rename", first.id()),
        json!({"name": "Alice B"}),
    )
    .await
    .expect(200);
    post_as(
        &api,
        &again,
        "/customers",
        json!({"name": "Alice", "email": "alice2@example.com"}),
    )
    .await
    .expect_problem(409, "invalid-transition");
}

#[tokio::test]
async fn every_event_records_its_actor() {
    let api = Api::authenticated().await;
    let staff = testing::token(Role::Staff, None);
    post_as(
        &api,
        &staff,
        "/products",
        json!({"sku": "TEA", "name": "Tea", "price": {"amount": "2.00", "currency": "EUR"}, "stock": 5}),
    )
    .await
    .expect(201);
    let actor: Value =
        sqlx::query_scalar("SELECT metadata -> 'actor' FROM events WHERE aggregate_id = 'TEA'")
            .fetch_one(&api.db.pool)
            .await
            .expect("the event");
    assert_eq!(actor, json!({"sub": "test-staff", "roles": ["staff"]}));
}

#[tokio::test]
async fn idempotency_keys_are_scoped_to_the_subject() {
    let api = Api::authenticated().await;
    let body = json!({"sku": "TEA", "name": "Tea", "price": {"amount": "2.00", "currency": "EUR"}, "stock": 5});
    let admin = bearer(&testing::token(Role::Admin, None));
    let staff = bearer(&testing::token(Role::Staff, None));
    let keyed = |who: &str| {
        vec![
            ("authorization", who.to_owned()),
            ("idempotency-key", "k-1".to_owned()),
        ]
    };
    let send = |headers: Vec<(&'static str, String)>| {
        let body = body.clone();
        let api = &api;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            api.post_with("/products", body, &headers).await
        }
    };
    let first = send(keyed(&admin)).await.expect(201);
    let replayed = send(keyed(&admin)).await.expect(201);
    assert_eq!(replayed.body, first.body);
    assert_eq!(
        replayed
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    // Another subject's same key is another request: it runs, and the sku is taken.
    let other = send(keyed(&staff)).await.expect_problem(409, "sku-taken");
    assert!(other.headers.get("idempotent-replayed").is_none());
}
