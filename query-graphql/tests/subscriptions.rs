//! `orderUpdated` over WebSocket (graphql-transport-ws), and slow subscribers.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use query_graphql::hub::Hub;
use query_graphql::subscription::TooSlow;
use serde_json::{json, Value};
use support::{codes, open_socket, Platform, Socket};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

async fn connect(url: &str) -> Socket {
    let mut socket = open_socket(url).await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// The next protocol message (pings answered on the way).
async fn receive(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("open")
            .expect("message");
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).expect("JSON");
            if value["type"] == "ping" {
                send(socket, json!({"type": "pong"})).await;
                continue;
            }
            return value;
        }
    }
}

/// Waits up to `within` for the next `next` message of subscription `id`.
async fn next_of(socket: &mut Socket, id: &str, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let Ok(message) = tokio::time::timeout_at(deadline, receive(socket)).await else {
            return None;
        };
        if message["type"] == "next" && message["id"] == id {
            return Some(message["payload"].clone());
        }
    }
}

const UPDATED: &str = "subscription($id: ID) { orderUpdated(id: $id) { id status customer { name } lines { sku quantity } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribers_receive_the_new_view_of_the_orders_they_follow() {
    let platform = Platform::start().await;
    let url = platform.listen().await;
    platform.product("A", "Apple", "1.00", 100).await;
    let ada = platform.customer("Ada", "ada@example.com").await;
    let (order, position) = platform.order(&ada, &[("A", 2)]).await;
    platform.until_status(&order, "CONFIRMED").await;
    let _ = platform
        .gql_at(position, "{ products { totalCount } }", json!({}))
        .await;

    let mut one = connect(&url).await;
    send(&mut one, json!({"id": "one", "type": "subscribe", "payload": {"query": UPDATED, "variables": {"id": order}}})).await;
    let mut all = connect(&url).await;
    send(
        &mut all,
        json!({"id": "all", "type": "subscribe", "payload": {"query": UPDATED}}),
    )
    .await;

    // A rename shows on the order (enrichment follows it). The subscriptions start
    // asynchronously, so rename until one arrives.
    let mut update = None;
    for attempt in 0..20 {
        let name = format!("Ada {attempt}");
        platform
            .command(
                &format!("/customers/{}/rename", ada.0),
                json!({"name": name}),
            )
            .await;
        if let Some(payload) = next_of(&mut one, "one", Duration::from_millis(500)).await {
            update = Some(payload);
            break;
        }
    }
    let update = update.expect("the followed order's update");
    let view = &update["data"]["orderUpdated"];
    assert_eq!(view["id"], order.as_str());
    assert!(
        view["customer"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("Ada ")),
        "{update}"
    );
    assert_eq!(view["lines"], json!([{"sku": "A", "quantity": 2}]));
    assert!(update["extensions"]["position"].is_i64(), "{update}");

    // A new order reaches the subscriber of every order, not the one following the first.
    let (second, _) = platform.order(&ada, &[("A", 1)]).await;
    let mut seen_second = false;
    while let Some(payload) = next_of(&mut all, "all", Duration::from_secs(10)).await {
        if payload["data"]["orderUpdated"]["id"] == second.as_str() {
            seen_second = true;
            break;
        }
    }
    assert!(
        seen_second,
        "the new order reached the subscriber of all orders"
    );
    while let Some(payload) = next_of(&mut one, "one", Duration::from_millis(300)).await {
        assert_eq!(
            payload["data"]["orderUpdated"]["id"],
            order.as_str(),
            "{payload}"
        );
    }

    // Queries are served over the socket too: one `next`, then `complete`.
    send(&mut one, json!({"id": "q", "type": "subscribe", "payload": {"query": "query($id: ID!) { order(id: $id) { id lines { sku } } products { totalCount } }", "variables": {"id": order}}})).await;
    let answer = loop {
        let message = receive(&mut one).await;
        if message["id"] == "q" {
            break message;
        }
    };
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(
        answer["payload"]["data"],
        json!({"order": {"id": order, "lines": [{"sku": "A"}]}, "products": {"totalCount": 1}})
    );
    assert!(
        answer["payload"]["extensions"]["position"].is_i64(),
        "{answer}"
    );
    let done = loop {
        let message = receive(&mut one).await;
        if message["id"] == "q" {
            break message;
        }
    };
    assert_eq!(done["type"], "complete", "{done}");

    // A malformed id is refused for that subscription.
    send(&mut one, json!({"id": "bad", "type": "subscribe", "payload": {"query": UPDATED, "variables": {"id": "nope"}}})).await;
    let refused = loop {
        let message = receive(&mut one).await;
        if message["id"] == "bad" {
            break message;
        }
    };
    let payload = if refused["type"] == "error" {
        json!({"errors": refused["payload"]})
    } else {
        refused["payload"].clone()
    };
    assert_eq!(codes(&payload), ["BAD_USER_INPUT"], "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscriber_that_falls_behind_is_dropped_and_the_others_go_on() {
    let platform = Platform::start().await;
    platform.product("A", "Apple", "1.00", 100).await;
    let ada = platform.customer("Ada", "ada@example.com").await;
    let schema = query_graphql::schema::build(
        platform.log.clone(),
        Hub::start_with_backlog(platform.log.clone(), 2),
    );
    let subscription = "subscription { orderUpdated { id } }";
    let too_slow = TooSlow::default();
    // Executed on the schema directly: the caller is given as the HTTP layer would.
    let request = || async_graphql::Request::new(subscription).data(auth::Caller::open());
    let mut slow = schema.execute_stream(request().data(too_slow.clone()));
    let mut fast = schema.execute_stream(request());
    // Both subscribe now (nothing to receive yet).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), slow.next())
            .await
            .is_err()
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(response) = fast.next().await {
                let id = response.data.into_json().expect("json")["orderUpdated"]["id"].clone();
                seen.lock()
                    .expect("lock")
                    .push(id.as_str().expect("id").to_owned());
            }
        })
    };
    // Orders committed one by one, while the slow one reads nothing.
    let mut placed = Vec::new();
    for _ in 0..6 {
        let (id, position) = platform.order(&ada, &[("A", 1)]).await;
        let _ = platform
            .gql_at(position, "{ products { totalCount } }", json!({}))
            .await;
        placed.push(id);
    }
    // Behind by more than its backlog, the slow one's subscription ends when it next
    // reads, and its connection is told to close (the WebSocket closes it with 1008).
    assert!(
        tokio::time::timeout(Duration::from_secs(5), slow.next())
            .await
            .expect("ends")
            .is_none(),
        "its subscription ends"
    );
    tokio::time::timeout(Duration::from_secs(1), too_slow.0.notified())
        .await
        .expect("the slow subscriber's connection is told to close");
    // The one that kept reading saw every order.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !placed
        .iter()
        .all(|id| seen.lock().expect("lock").contains(id))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{placed:?} vs {:?}",
            seen.lock()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    reader.abort();
}

/// Serves only GraphQL on `platform`'s database, with `options`.
async fn serve_with(platform: &Platform, options: query_graphql::Options) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = query_graphql::router_with(platform.log.clone(), options);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("ws://{addr}/graphql/ws")
}

/// The status of an upgrade to `url` from a page of `origin` (none: not a browser).
async fn upgrade_status(url: &str, origin: Option<&str>) -> u16 {
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(error) => panic!("upgrade failed: {error}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_own_and_allowed_origins_may_open_a_socket() {
    let platform = Platform::without_projectors().await;
    let url = serve_with(
        &platform,
        query_graphql::Options {
            allowed_origins: vec!["https://shop.example".into()],
            ..query_graphql::Options::default()
        },
    )
    .await;
    let host = url
        .trim_start_matches("ws://")
        .trim_end_matches("/graphql/ws");
    assert_eq!(upgrade_status(&url, None).await, 101, "not a browser");
    assert_eq!(
        upgrade_status(&url, Some(&format!("http://{host}"))).await,
        101,
        "same origin"
    );
    assert_eq!(
        upgrade_status(&url, Some("https://shop.example")).await,
        101,
        "allowed"
    );
    assert_eq!(upgrade_status(&url, Some("http://evil.example")).await, 403);
    assert_eq!(
        upgrade_status(&url, Some("https://shop.example.evil.example")).await,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_closes_sockets_as_going_away() {
    let platform = Platform::without_projectors().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let url = serve_with(
        &platform,
        query_graphql::Options {
            shutdown: Some(stopped),
            ..query_graphql::Options::default()
        },
    )
    .await;
    let mut socket = connect(&url).await;
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { orderUpdated { id } }"}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(true).expect("stop");
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                other => panic!("the socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("closed in time");
    assert_eq!(closed, Some(query_graphql::http::GOING_AWAY));
}
