//! GraphQL with authentication on: a customer reads only its own customer, orders and
//! shipments (and products), through every path: root lookups, nested fields, lists and
//! subscriptions; staff read everything; a missing or invalid token is UNAUTHENTICATED;
//! sockets are refused with 4403 before anything runs, and closed when the token expires.

mod support;

use std::time::Duration;

use auth::testing;
use auth::Role;
use domain::values::CustomerId;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::{codes, open_socket, Platform, Socket};
use tokio_tungstenite::tungstenite::Message;

/// Ada's and Bob's customers, each with an order; Ada's is paid, so it has a shipment.
struct Shop {
    platform: Platform,
    ada: String,
    bob: String,
    ada_order: String,
    bob_order: String,
    ada_shipment: String,
}

impl Shop {
    async fn open() -> Self {
        let platform = Platform::start_authenticated().await;
        platform.product("TEA", "Tea", "2.00", 100).await;
        let ada = platform.customer("Ada", "ada@example.com").await;
        let bob = platform.customer("Bob", "bob@example.com").await;
        let (ada_order, _) = platform.order(&ada, &[("TEA", 1)]).await;
        let (bob_order, _) = platform.order(&bob, &[("TEA", 2)]).await;
        platform.until_status(&ada_order, "CONFIRMED").await;
        platform.until_status(&bob_order, "CONFIRMED").await;
        platform
            .command(
                &format!("/orders/{ada_order}/pay"),
                json!({"amount": {"amount": "2.00", "currency": "EUR"}, "method": "card", "reference": "psp-1"}),
            )
            .await;
        let ada_shipment = loop {
            let response = platform
                .gql(
                    "query($id: ID!) { order(id: $id) { shipment { id } } }",
                    json!({"id": ada_order}),
                )
                .await;
            if let Some(id) = response["data"]["order"]["shipment"]["id"].as_str() {
                break id.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        Self {
            platform,
            ada: ada.0,
            bob: bob.0,
            ada_order,
            bob_order,
            ada_shipment,
        }
    }

    fn customer_token(id: &str) -> String {
        testing::token(Role::Customer, Some(CustomerId::parse(id).expect("a UUID")))
    }

    /// A query as `token`: its response body (HTTP 200 asserted).
    async fn read(&self, token: &str, query: &str, variables: Value) -> Value {
        let reply = self.platform.gql_as(Some(token), query, variables).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json()
    }
}

/// The error codes of `response` at `path` (its first element).
fn code_at(response: &Value, path: &str) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter(|e| e["path"][0] == path)
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_reads_its_own_and_gets_forbidden_for_anothers_through_every_path() {
    let shop = Shop::open().await;
    let ada = Shop::customer_token(&shop.ada);
    let ids = json!({"mine": shop.ada_order, "theirs": shop.bob_order, "me": shop.ada, "them": shop.bob, "shipment": shop.ada_shipment});

    // Root lookups by id.
    let response = shop
        .read(
            &ada,
            "query($mine: ID!, $theirs: ID!, $me: ID!, $them: ID!, $shipment: ID!) {
               mine: order(id: $mine) { id customer { name } shipment { id order { id } } }
               theirs: order(id: $theirs) { id }
               me: customer(id: $me) { name orders { totalCount edges { node { id } } } }
               them: customer(id: $them) { name }
               shipment(id: $shipment) { id order { id } }
               product(sku: \"TEA\") { sku }
             }",
            ids.clone(),
        )
        .await;
    let data = &response["data"];
    assert_eq!(data["mine"]["id"], shop.ada_order, "{response}");
    assert_eq!(data["mine"]["customer"]["name"], "Ada");
    assert_eq!(data["mine"]["shipment"]["id"], shop.ada_shipment);
    assert_eq!(data["mine"]["shipment"]["order"]["id"], shop.ada_order);
    assert_eq!(
        data["me"]["orders"]["totalCount"], 1,
        "nested: only its orders"
    );
    assert_eq!(
        data["me"]["orders"]["edges"][0]["node"]["id"],
        shop.ada_order
    );
    assert_eq!(data["shipment"]["order"]["id"], shop.ada_order);
    assert_eq!(data["product"]["sku"], "TEA", "products are everyone's");
    assert!(data["theirs"].is_null(), "{response}");
    assert!(
        data.get("theirs").is_some(),
        "null, not left out: {response}"
    );
    assert_eq!(code_at(&response, "theirs"), ["FORBIDDEN"]);
    assert!(data["them"].is_null());
    assert_eq!(code_at(&response, "them"), ["FORBIDDEN"]);

    // Bob's shipment, as Bob sees it and as Ada cannot.
    let bob = Shop::customer_token(&shop.bob);
    let response = shop
        .read(
            &bob,
            "query($id: ID!) { shipment(id: $id) { id } }",
            json!({"id": shop.ada_shipment}),
        )
        .await;
    assert!(response["data"]["shipment"].is_null(), "{response}");
    assert_eq!(code_at(&response, "shipment"), ["FORBIDDEN"]);

    // Lists: only its own orders; another's by filter, customers and projections are
    // forbidden.
    let response = shop
        .read(
            &ada,
            "{ orders { totalCount edges { node { id customer { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(response["data"]["orders"]["totalCount"], 1, "{response}");
    assert_eq!(
        response["data"]["orders"]["edges"][0]["node"]["id"],
        shop.ada_order
    );
    for query in [
        format!(
            "{{ orders(filter: {{customerId: \"{}\"}}) {{ totalCount }} }}",
            shop.bob
        ),
        "{ customers { totalCount } }".to_owned(),
        "{ projections { name } }".to_owned(),
    ] {
        let response = shop.read(&ada, &query, json!({})).await;
        assert_eq!(codes(&response), ["FORBIDDEN"], "{query}: {response}");
    }

    // Staff read everything.
    let staff = testing::token(Role::Staff, None);
    let response = shop
        .read(
            &staff,
            "query($theirs: ID!) { order(id: $theirs) { id } orders { totalCount } customers { totalCount } projections { name } }",
            json!({"theirs": shop.bob_order}),
        )
        .await;
    assert_eq!(codes(&response), Vec::<String>::new(), "{response}");
    assert_eq!(response["data"]["order"]["id"], shop.bob_order);
    assert_eq!(response["data"]["orders"]["totalCount"], 2);
    assert_eq!(response["data"]["customers"]["totalCount"], 2);

    // A token without any OMS role reads nothing, not even products.
    let nobody = testing::sign(&testing::claims("nobody", &[], None));
    let response = shop
        .read(&nobody, "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(codes(&response), ["FORBIDDEN"], "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_invalid_tokens_are_unauthenticated() {
    let platform = Platform::start_authenticated().await;
    let tokens = [
        None,
        Some(testing::expired()),
        Some(testing::wrong_issuer()),
        Some(testing::wrong_audience()),
        Some(testing::tampered()),
        Some(testing::alg_none()),
    ];
    for token in &tokens {
        let reply = platform
            .gql_as(token.as_deref(), "{ products { totalCount } }", json!({}))
            .await;
        assert_eq!(reply.status, 401, "{token:?}: {reply:?}");
        assert_eq!(codes(&reply.json()), ["UNAUTHENTICATED"], "{reply:?}");
        let challenge = reply
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let expected = if token.is_some() {
            "Bearer error=\"invalid_token\""
        } else {
            "Bearer"
        };
        assert_eq!(challenge, expected);
    }
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// The next message: a protocol message, or the close frame's code.
async fn receive(socket: &mut Socket) -> Result<Value, Option<u16>> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s");
        match message {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(&text).expect("JSON");
                if value["type"] == "ping" {
                    send(socket, json!({"type": "pong"})).await;
                    continue;
                }
                return Ok(value);
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(frame.map(|f| u16::from(f.code)));
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// A socket whose `connection_init` carries `token` (none: no payload).
async fn init(url: &str, token: Option<&str>) -> (Socket, Result<Value, Option<u16>>) {
    let mut socket = open_socket(url).await;
    let message = match token {
        Some(token) => {
            json!({"type": "connection_init", "payload": {"Authorization": testing::bearer(token)}})
        }
        None => json!({"type": "connection_init"}),
    };
    send(&mut socket, message).await;
    let answer = receive(&mut socket).await;
    (socket, answer)
}

const UPDATED: &str = "subscription($id: ID) { orderUpdated(id: $id) { id customer { name } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sockets_need_a_valid_token_and_deliver_only_readable_orders() {
    let shop = Shop::open().await;
    let url = shop.platform.listen().await;

    for token in [None, Some(testing::expired()), Some(testing::alg_none())] {
        let (_, answer) = init(&url, token.as_deref()).await;
        assert_eq!(answer, Err(Some(4403)), "{token:?}");
    }
    // A subscribe before (instead of) connection_init runs nothing either.
    let mut socket = open_socket(&url).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": UPDATED}}),
    )
    .await;
    assert_eq!(receive(&mut socket).await, Err(Some(4403)));

    // Ada follows every order she may read, and asks for Bob's.
    let ada = Shop::customer_token(&shop.ada);
    let (mut socket, answer) = init(&url, Some(&ada)).await;
    assert_eq!(answer.expect("acknowledged")["type"], "connection_ack");
    send(
        &mut socket,
        json!({"id": "all", "type": "subscribe", "payload": {"query": UPDATED}}),
    )
    .await;
    send(&mut socket, json!({"id": "bobs", "type": "subscribe", "payload": {"query": UPDATED, "variables": {"id": shop.bob_order}}})).await;
    let mut forbidden = None;
    let mut delivered = Vec::new();
    // Rename both customers until Ada's order arrives (subscriptions start asynchronously).
    for attempt in 0..40 {
        for (customer, name) in [(&shop.bob, "Bob"), (&shop.ada, "Ada")] {
            shop.platform
                .command(
                    &format!("/customers/{customer}/rename"),
                    json!({"name": format!("{name} {attempt}")}),
                )
                .await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(250);
        while let Ok(message) = tokio::time::timeout_at(deadline, receive(&mut socket)).await {
            let message = message.expect("open");
            match (message["type"].as_str(), message["id"].as_str()) {
                // A subscription whose resolver refuses answers `next` with the errors.
                (Some("next"), Some("bobs")) => {
                    forbidden = Some(message["payload"]["errors"].clone());
                }
                (Some("error"), Some("bobs")) => forbidden = Some(message["payload"].clone()),
                (Some("next"), Some("all")) => {
                    delivered.push(message["payload"]["data"]["orderUpdated"]["id"].clone());
                }
                _ => {}
            }
        }
        if !delivered.is_empty() && forbidden.is_some() {
            break;
        }
    }
    assert!(!delivered.is_empty(), "Ada's order updates arrive");
    assert!(
        delivered.iter().all(|id| *id == shop.ada_order),
        "only Ada's orders: {delivered:?}"
    );
    let forbidden = forbidden.expect("Bob's order is refused");
    assert_eq!(
        forbidden[0]["extensions"]["code"], "FORBIDDEN",
        "{forbidden}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_ends_when_its_token_expires() {
    let platform = Platform::start_authenticated().await;
    let url = platform.listen().await;
    let token = testing::expiring_in(2, Role::Staff, None);
    let (mut socket, answer) = init(&url, Some(&token)).await;
    assert_eq!(answer.expect("acknowledged")["type"], "connection_ack");
    send(
        &mut socket,
        json!({"id": "all", "type": "subscribe", "payload": {"query": UPDATED}}),
    )
    .await;
    let complete = receive(&mut socket).await.expect("complete before close");
    assert_eq!(
        (complete["type"].as_str(), complete["id"].as_str()),
        (Some("complete"), Some("all"))
    );
    assert_eq!(receive(&mut socket).await, Err(Some(4403)));
}
