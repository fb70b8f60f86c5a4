//! The relay against a real `nats-server` (JetStream): every event once and in each
//! aggregate's order while writers run, through kills of the relay and of NATS; CloudEvents
//! that validate; the stream's settings; commands unaffected while NATS is down; the
//! enriched order views, one per committed change, the same as GraphQL's `Order`.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use axum::body::Body;
use axum::http::Request;
use domain::values::{OrderId, ShipmentId};
use event_store::EventLog;
use projections::runtime::{Running, Runtime, RuntimeOptions};
use relay::testing::NatsServer;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use support::platform::{Platform, Projectors};
use tower::ServiceExt;

const STREAM: &str = "OMS_EVENTS";

/// A relay with a pool of its own, so that killing it closes its connections as the
/// death of its process would.
struct RelayRun {
    running: Running,
    log: EventLog,
}

impl RelayRun {
    async fn start(platform: &Platform, nats: &NatsServer, batch_size: u32) -> Self {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(platform.db.options.clone())
            .await
            .expect("relay pool");
        let log = EventLog::new(pool);
        let relay = relay::Relay::connect(relay::Settings {
            url: nats.url(),
            stream: STREAM.to_owned(),
        })
        .await
        .expect("relay");
        let options = RuntimeOptions {
            batch_size,
            standby_poll: Duration::from_millis(50),
            retry_backoff: Duration::from_millis(50),
            ..RuntimeOptions::default()
        };
        let running = Runtime::new(log.clone(), vec![Arc::new(relay)], options).spawn();
        let run = Self { running, log };
        // Registered (its checkpoint exists): from here on the orders' views are kept.
        let deadline = Instant::now() + Duration::from_secs(30);
        while status(platform, relay::NAME).await.is_none() {
            assert!(Instant::now() < deadline, "the relay never registered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        run
    }

    async fn kill(self) {
        self.running.kill().await;
        self.log.pool().close().await;
    }

    async fn stop(self) {
        self.running.stop().await;
        self.log.pool().close().await;
    }
}

/// A NATS server, a platform on a fresh database with its projectors, and a relay
/// publishing `batch_size` events per batch.
async fn relaying(batch_size: u32) -> (NatsServer, Arc<Platform>, Projectors, RelayRun) {
    let nats = NatsServer::start();
    let platform = Arc::new(Platform::new().await);
    let projectors = platform.projectors().await;
    let relay = RelayRun::start(&platform, &nats, batch_size).await;
    (nats, platform, projectors, relay)
}

/// (state, lag, last error) of a projection, if it has a checkpoint.
async fn status(platform: &Platform, name: &str) -> Option<(String, i64, Option<String>)> {
    let all = projections::status::every_projection(&platform.db.log())
        .await
        .expect("status");
    all.into_iter()
        .find(|s| s.name == name)
        .map(|s| (s.state, s.lag, s.last_error))
}

/// Views kept for the relay and not published yet.
async fn kept_views(platform: &Platform) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM order_view_changes")
        .fetch_one(&platform.db.pool)
        .await
        .expect("kept views")
}

/// Waits until the read models, the manager and the relay have the whole log and the
/// relay has published every kept view.
async fn relayed(platform: &Platform) {
    platform.settled().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (state, lag, error) = status(platform, relay::NAME).await.expect("relay");
        assert_ne!(state, "FAILED", "{error:?}");
        let kept = kept_views(platform).await;
        if lag == 0 && kept == 0 && state == "RUNNING" {
            // The views the last batches of the read models kept went out too.
            platform.settled().await;
            if kept_views(platform).await == 0
                && status(platform, relay::NAME).await.expect("relay").1 == 0
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the relay never caught up: {state} lag {lag} kept {kept} {error:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One message of the stream.
#[derive(Debug, Clone)]
struct Stored {
    subject: String,
    msg_id: String,
    body: Value,
}

/// Every message of the stream, in stream order.
async fn stream_messages(nats: &NatsServer) -> Vec<Stored> {
    read_stream(nats).await.expect("the stream")
}

/// Every message of the stream, if it can be read (it may not exist yet).
async fn read_stream(nats: &NatsServer) -> Result<Vec<Stored>, async_nats::Error> {
    let js = jetstream::new(async_nats::connect(nats.url()).await?);
    let mut stream = js.get_stream(STREAM).await?;
    let last = stream.info().await?.state.last_sequence;
    let mut out = Vec::new();
    for sequence in 1..=last {
        let message = stream.get_raw_message(sequence).await?;
        out.push(Stored {
            subject: message.subject.to_string(),
            msg_id: message
                .headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default(),
            body: serde_json::from_slice(&message.payload)?,
        });
    }
    Ok(out)
}

/// Holds the stream's events to the log: each event exactly once, each aggregate's in
/// sequence order, with the CloudEvent the contract describes. Returns the events.
async fn assert_exactly_once(platform: &Platform, nats: &NatsServer) -> Vec<Stored> {
    let messages = stream_messages(nats).await;
    let events: Vec<Stored> = messages
        .iter()
        .filter(|m| m.subject.starts_with("oms.events."))
        .cloned()
        .collect();
    let log: Vec<(i64, String, String, i64, String, String)> = sqlx::query_as(
        "SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version
         FROM events ORDER BY position",
    )
    .fetch_all(&platform.db.pool)
    .await
    .expect("log");
    let mut seen = HashSet::new();
    for event in &events {
        assert!(
            seen.insert(event.msg_id.clone()),
            "published twice: {:?}",
            event.body
        );
        assert_eq!(event.body["id"].as_str(), Some(event.msg_id.as_str()));
    }
    assert_eq!(events.len(), log.len(), "one message per event of the log");
    let by_id: HashMap<&str, &Stored> = events.iter().map(|e| (e.msg_id.as_str(), e)).collect();
    for (position, kind, id, sequence, event_type, version) in &log {
        let expected = relay::cloudevent::id(kind, id, *sequence).to_string();
        let message = by_id
            .get(expected.as_str())
            .unwrap_or_else(|| panic!("event at {position} ({event_type}) was never published"));
        assert_eq!(
            message.subject,
            format!("oms.events.{}.{event_type}", kind.to_lowercase())
        );
        let body = &message.body;
        assert_eq!(body["position"], json!(position));
        assert_eq!(body["sequence"], json!(sequence));
        assert_eq!(body["subject"], json!(id));
        assert_eq!(
            body["type"],
            json!(format!(
                "oms.{}.{event_type}.v{version}",
                kind.to_lowercase()
            ))
        );
    }
    // Each aggregate's events in sequence order, in the stream's order.
    let mut last: HashMap<(String, String), i64> = HashMap::new();
    for event in &events {
        let kind = event
            .subject
            .split('.')
            .nth(2)
            .expect("aggregate")
            .to_owned();
        let id = event.body["subject"].as_str().expect("subject").to_owned();
        let sequence = event.body["sequence"].as_i64().expect("sequence");
        let before = last.insert((kind, id), sequence).unwrap_or(0);
        assert_eq!(sequence, before + 1, "out of order: {:?}", event.body);
    }
    events
}

/// `count` writers, each registering a customer and placing `orders` orders, at once.
async fn write_concurrently(platform: &Arc<Platform>, writers: usize, orders: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers {
        let platform = platform.clone();
        tasks.spawn(async move {
            let customer = platform.customer().await;
            for i in 0..orders {
                let sku = ["A", "B", "C"][i % 3];
                platform.place(&customer, &[(sku, 1)]).await;
                if i % 4 == 0 {
                    platform
                        .ok(&format!("/products/{sku}/restock"), json!({"quantity": 1}))
                        .await;
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("writer");
    }
}

async fn catalog(platform: &Platform) {
    for sku in ["A", "B", "C"] {
        platform.product(sku, 1_000).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_arrives_once_in_order_while_eight_writers_append() {
    let (nats, platform, projectors, relay) = relaying(50).await;
    catalog(&platform).await;
    write_concurrently(&platform, 8, 6).await;
    relayed(&platform).await;
    let events = assert_exactly_once(&platform, &nats).await;
    assert!(events.len() > 8 * 6 * 3, "{}", events.len());
    relay.stop().await;
    projectors.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kills_of_the_relay_and_of_nats_neither_lose_nor_repeat_an_event() {
    let (mut nats, platform, projectors, relay) = relaying(20).await;
    // Two relays: one publishes, the other stands by and takes over when it dies.
    let mut relays = vec![relay, RelayRun::start(&platform, &nats, 20).await];
    catalog(&platform).await;
    let writing = {
        let platform = platform.clone();
        tokio::spawn(async move { write_concurrently(&platform, 8, 12).await })
    };
    for round in 0..4 {
        tokio::time::sleep(Duration::from_millis(250 + 100 * round)).await;
        // Mid-flight (batches in the air, the checkpoint not yet moved), the owner or the
        // standby in turn.
        relays.remove(round as usize % 2).kill().await;
        relays.push(RelayRun::start(&platform, &nats, 20).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    nats.kill();
    tokio::time::sleep(Duration::from_millis(700)).await;
    nats.restart();
    writing.await.expect("writers");
    tokio::time::sleep(Duration::from_millis(200)).await;
    nats.kill();
    nats.restart();
    relayed(&platform).await;
    assert_exactly_once(&platform, &nats).await;
    for relay in relays {
        relay.stop().await;
    }
    projectors.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_nats_down_commands_succeed_and_the_relay_catches_up_when_it_returns() {
    let (mut nats, platform, projectors, relay) = relaying(100).await;
    catalog(&platform).await;
    nats.kill();
    write_concurrently(&platform, 2, 3).await; // every command succeeded (`ok`)
    platform.settled().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (state, lag, error) = status(&platform, relay::NAME).await.expect("relay");
        if state == "RETRYING" {
            assert!(lag > 0);
            let error = error.expect("the error");
            assert!(error.contains("NATS"), "{error}");
            break;
        }
        assert!(Instant::now() < deadline, "never RETRYING: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nats.restart();
    relayed(&platform).await;
    assert_exactly_once(&platform, &nats).await;
    relay.stop().await;
    projectors.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stream_is_created_with_both_subjects_on_file_with_the_duplicate_window() {
    let nats = NatsServer::start();
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let js = jetstream::new(client);
    // A stream someone made by hand, lacking the relay's subjects: they are added.
    js.create_stream(jetstream::stream::Config {
        name: STREAM.to_owned(),
        subjects: vec!["shop.>".to_owned()],
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .expect("create");
    let platform = Platform::new().await;
    let projectors = platform.projectors().await;
    let relay = RelayRun::start(&platform, &nats, 100).await;
    platform.product("A", 1).await;
    relayed(&platform).await;
    let mut stream = js.get_stream(STREAM).await.expect("stream");
    let config = stream.info().await.expect("info").config.clone();
    assert_eq!(
        config.subjects,
        ["shop.>", "oms.events.>", "oms.orders.>"].map(String::from)
    );
    assert_eq!(config.storage, jetstream::stream::StorageType::File);
    assert!(config.duplicate_window >= Duration::from_secs(120));
    relay.stop().await;
    projectors.stop().await;

    // And a stream that does not exist is created so.
    let nats = NatsServer::start();
    let platform = Platform::new().await;
    let projectors = platform.projectors().await;
    let relay = RelayRun::start(&platform, &nats, 100).await;
    platform.product("A", 1).await;
    relayed(&platform).await;
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let mut stream = jetstream::new(client)
        .get_stream(STREAM)
        .await
        .expect("stream");
    let config = stream.info().await.expect("info").config.clone();
    assert_eq!(
        config.subjects,
        ["oms.events.>", "oms.orders.>"].map(String::from)
    );
    assert_eq!(config.storage, jetstream::stream::StorageType::File);
    assert_eq!(config.duplicate_window, Duration::from_secs(120));
    relay.stop().await;
    projectors.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_are_cloudevents_that_validate_against_the_schema() {
    let (nats, platform, projectors, relay) = relaying(100).await;
    catalog(&platform).await;
    let customer = platform.customer().await;
    let order = platform.place(&customer, &[("A", 2)]).await;
    relayed(&platform).await;
    let events = assert_exactly_once(&platform, &nats).await;

    // The CloudEvents 1.0 JSON schema (tests/schemas), checked by Python's jsonschema
    // (installed with schemathesis), with its formats (date-time, uri-reference).
    let mut validator = Command::new("python3")
        .arg("-c")
        .arg(VALIDATE)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/schemas/cloudevents-1.0.json"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    {
        let mut stdin = validator.stdin.take().expect("stdin");
        for event in &events {
            writeln!(stdin, "{}", event.body).expect("write");
        }
    }
    let output = validator.wait_with_output().expect("validator");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("{} valid", events.len())
    );

    // The placement, attribute by attribute, against the log.
    let placed = events
        .iter()
        .find(|e| e.subject == "oms.events.order.OrderPlaced")
        .expect("OrderPlaced");
    let (payload, metadata, recorded_at): (Value, Value, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as(
            "SELECT payload, metadata, recorded_at FROM events
             WHERE aggregate_id = $1 AND event_type = 'OrderPlaced'",
        )
        .bind(&order)
        .fetch_one(&platform.db.pool)
        .await
        .expect("event");
    let body = &placed.body;
    assert_eq!(body["specversion"], "1.0");
    assert_eq!(body["source"], "oms");
    assert_eq!(body["type"], "oms.order.OrderPlaced.v1");
    assert_eq!(body["subject"], json!(order));
    assert_eq!(body["datacontenttype"], "application/json");
    assert_eq!(body["data"], payload);
    assert_eq!(body["correlationid"], metadata["correlation_id"]);
    assert_eq!(body["causationid"], metadata["causation_id"]);
    let time = chrono::DateTime::parse_from_rfc3339(body["time"].as_str().expect("time"))
        .expect("RFC 3339");
    assert_eq!(time, recorded_at);
    assert_eq!(
        body["id"],
        json!(uuid::Uuid::new_v5(
            &domain::values::OMS_NAMESPACE,
            format!("Order/{order}/1").as_bytes()
        )
        .to_string())
    );
    relay.stop().await;
    projectors.stop().await;
}

const VALIDATE: &str = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
count = 0
for line in sys.stdin:
    event = json.loads(line)
    errors = list(validator.iter_errors(event))
    if errors:
        print(event, [e.message for e in errors])
        sys.exit(1)
    count += 1
# A broken event must fail, or the check proves nothing.
broken = dict(event, time="yesterday", specversion="")
assert list(validator.iter_errors(broken)), "the schema accepts a broken event"
print(count, "valid")
"#;

/// GraphQL's whole `Order` (its shipment without the way back).
const ORDER_FIELDS: &str = "id status customer { id name email }
    shippingAddress { id label line1 line2 city postalCode country }
    lines { sku productName quantity unitPrice { amount currency } lineTotal { amount currency } }
    itemCount total { amount currency }
    payment { amount { amount currency } method reference paidAt }
    shipment { id orderId status address { id label line1 line2 city postalCode country }
               carrier trackingNumber createdAt dispatchedAt deliveredAt }
    history { status at reason } placedAt updatedAt version";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_committed_change_of_an_order_view_is_published_once_in_order_as_graphql_shows_it() {
    let (nats, platform, projectors, relay) = relaying(100).await;
    catalog(&platform).await;
    let customer = platform.customer().await;
    let order = platform.place(&customer, &[("A", 2), ("B", 1)]).await;
    platform
        .until::<domain::Order, _>(&order, "CONFIRMED", |o| {
            o.status() == Some(domain::OrderStatus::Confirmed)
        })
        .await;
    platform.settled().await;
    let (code, reply) = platform.pay(&order).await;
    assert_eq!(code, 200, "{reply}");
    platform.settled().await;
    let shipment = ShipmentId::for_order(order.parse::<OrderId>().expect("uuid")).to_string();
    platform
        .ok(
            &format!("/shipments/{shipment}/dispatch"),
            json!({"carrier": "DHL", "tracking_number": "JJD1"}),
        )
        .await;
    platform.settled().await;
    platform
        .ok(
            &format!("/customers/{}/rename", customer.0),
            json!({"name": "Ada L."}),
        )
        .await;
    platform.settled().await;
    platform
        .ok(&format!("/shipments/{shipment}/deliver"), json!({}))
        .await;
    relayed(&platform).await;

    let views: Vec<Value> = stream_messages(&nats)
        .await
        .into_iter()
        .filter(|m| m.subject == format!("oms.orders.{order}"))
        .map(|m| m.body)
        .collect();
    // One view per committed change, each different from the one before: the
    // confirmation, the payment (and the shipment it creates), the dispatch, the rename,
    // the delivery; the manager's follow-ups may share the commit of their cause.
    for pair in views.windows(2) {
        assert_ne!(pair[0], pair[1], "a view published twice");
        assert!(pair[0]["version"].as_i64() <= pair[1]["version"].as_i64());
    }
    let mut statuses: Vec<&str> = views
        .iter()
        .map(|v| v["status"].as_str().expect("status"))
        .collect();
    statuses.dedup();
    let from_confirmed: Vec<&str> = statuses
        .into_iter()
        .skip_while(|s| *s == "PLACED")
        .collect();
    assert_eq!(
        from_confirmed,
        ["CONFIRMED", "PAID", "SHIPPED", "DELIVERED"]
    );
    let shipped_as = |name: &str| {
        views
            .iter()
            .any(|v| v["status"] == "SHIPPED" && v["customer"]["name"] == name)
    };
    assert!(
        shipped_as("Ada") && shipped_as("Ada L."),
        "the rename is a change of its own"
    );

    // The last view is GraphQL's `Order`, field for field.
    let graphql = query_graphql::router(platform.db.log());
    let query = json!({"query": format!("{{ order(id: \"{order}\") {{ {ORDER_FIELDS} }} }}")});
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(query.to_string()))
        .expect("request");
    let response = graphql.oneshot(request).await.expect("infallible");
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let answer: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(answer["errors"], Value::Null, "{answer}");
    assert_eq!(views.last().expect("a view"), &answer["data"]["order"]);
    assert_eq!(
        views.last().expect("a view")["shipment"]["status"],
        "DELIVERED"
    );

    // Views of each order in the order they changed, each once.
    let mut versions: BTreeMap<String, i64> = BTreeMap::new();
    let mut ids = HashSet::new();
    for message in stream_messages(&nats).await {
        if let Some(id) = message.subject.strip_prefix("oms.orders.") {
            assert!(ids.insert(message.msg_id.clone()), "a view published twice");
            let version = message.body["version"].as_i64().expect("version");
            let before = versions.insert(id.to_owned(), version).unwrap_or(0);
            assert!(version >= before, "{id}: {version} after {before}");
        }
    }
    relay.stop().await;
    projectors.stop().await;
}

/// Waits until the stream holds a message on `subject`.
async fn until_published(nats: &NatsServer, subject: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stream_has(nats, subject).await {
        assert!(Instant::now() < deadline, "nothing on {subject}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stream_has(nats: &NatsServer, subject: &str) -> bool {
    read_stream(nats)
        .await
        .is_ok_and(|messages| messages.iter().any(|m| m.subject == subject))
}

fn define_product(server: &support::Server, sku: &str) {
    let body = json!({"sku": sku, "name": "Mug", "price": {"amount": "12.50", "currency": "EUR"}, "stock": 5});
    let (status, _, reply) = support::http(
        server.addr,
        "POST",
        "/products",
        &[("content-type", "application/json")],
        &body.to_string(),
    );
    assert_eq!(status, 201, "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oms_serve_relays_with_oms_nats_url_and_lists_the_relay_in_status() {
    let nats = NatsServer::start();
    let db = event_store::testing::TestDatabase::new().await;
    let dir = support::data_dir();
    let mut command = support::oms(dir.path());
    command
        .env("DATABASE_URL", &db.url)
        .env("OMS_NATS_URL", nats.url());
    let server = support::Server::start(command);
    define_product(&server, "MUG-001");
    until_published(&nats, "oms.events.product.ProductDefined").await;

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let output = support::oms(dir.path())
            .env("DATABASE_URL", &db.url)
            .args(["projections", "status", "--json"])
            .output()
            .expect("oms projections status");
        assert!(output.status.success());
        let rows: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let relay = rows
            .as_array()
            .expect("rows")
            .iter()
            .find(|row| row["name"] == relay::NAME)
            .cloned()
            .expect("the relay is listed");
        if relay["state"] == "RUNNING" && relay["lag"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{relay}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, metrics) = support::http_get(server.addr, "/metrics");
    assert!(
        metrics.contains("oms_relay_published_total{kind=\"event\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("oms_projection_lag_events{projection=\"relay\"} 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_relay_needs_oms_nats_url_and_relays_what_another_process_appends() {
    let dir = support::data_dir();
    // `oms serve --role relay` with `env`: refused, and what it says.
    let refused = |env: &[(&str, &str)]| {
        let output = support::oms(dir.path())
            .env("DATABASE_URL", "postgres://127.0.0.1:1/none")
            .envs(env.iter().copied())
            .args(["serve", "--role", "relay"])
            .output()
            .expect("oms serve --role relay");
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let stderr = refused(&[]);
    assert!(stderr.contains("OMS_NATS_URL"), "{stderr}");
    let stderr = refused(&[
        ("OMS_NATS_URL", "nats://127.0.0.1:1"),
        ("OMS_NATS_STREAM", "oms.events"),
    ]);
    assert!(stderr.contains("OMS_NATS_STREAM"), "{stderr}");

    let nats = NatsServer::start();
    let db = event_store::testing::TestDatabase::new().await;
    let mut commands = support::oms(dir.path());
    commands.env("DATABASE_URL", &db.url);
    let commands = support::Server::start_role(commands, "command-api");
    let mut relay = support::oms(dir.path());
    relay
        .env("DATABASE_URL", &db.url)
        .env("OMS_NATS_URL", nats.url())
        .env("OMS_NATS_STREAM", "SHOP");
    let relay = support::Server::start_role(relay, "relay");
    define_product(&commands, "MUG-002");
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let js = jetstream::new(client);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut stream) = js.get_stream("SHOP").await {
            if stream.info().await.expect("info").state.messages == 1 {
                let message = stream.get_raw_message(1).await.expect("message");
                assert_eq!(
                    message.subject.as_str(),
                    "oms.events.product.ProductDefined"
                );
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the relay role published nothing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(relay.get_status("/healthz"), 200);
    assert_eq!(
        relay.get_status("/orders"),
        404,
        "role relay serves only the ops routes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rename_fans_out_to_every_order_view_in_rounds_each_view_once() {
    let (nats, platform, projectors, relay) = relaying(100).await;
    platform.product("A", 100_000).await;
    let customer = Arc::new(platform.customer().await);
    let orders = relay::views::PER_ROUND as usize + 50;
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let (platform, customer) = (platform.clone(), customer.clone());
        tasks.spawn(async move {
            for _ in (writer..orders).step_by(8) {
                platform.place(&customer, &[("A", 1)]).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("writer");
    }
    relayed(&platform).await;
    // One orders batch changes every order's view: more than one round of kept views.
    platform
        .ok(
            &format!("/customers/{}/rename", customer.0),
            json!({"name": "Ada L."}),
        )
        .await;
    relayed(&platform).await;
    let renamed: Vec<Stored> = stream_messages(&nats)
        .await
        .into_iter()
        .filter(|m| m.subject.starts_with("oms.orders.") && m.body["customer"]["name"] == "Ada L.")
        .collect();
    let ids: HashSet<&str> = renamed.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(renamed.len(), orders, "one renamed view per order");
    assert_eq!(ids.len(), orders);
    relay.stop().await;
    projectors.stop().await;
}
