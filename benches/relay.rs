//! The relay against a local `nats-server` (JetStream, file storage), in two parts.
//!
//! 1. **Throughput**: a log of `OMS_BENCH_EVENTS` events (default 1,000,000) published by
//!    the relay from position 0, against the same server's raw rate for the same messages
//!    (the same CloudEvent bodies, subjects' shape and `Nats-Msg-Id`s, into a stream of the
//!    same settings), published by one client pipelined 1,000 at a time, measured in the
//!    same run. Target: relay >= 0.5x raw.
//! 2. **Delay**: the platform as `oms serve` runs it (command API over loopback HTTP, every
//!    projector, the manager and the relay) under `OMS_BENCH_RATE` commands/s (default
//!    1,000) for `OMS_BENCH_SECONDS` (default 20), after `OMS_BENCH_WARMUP` seconds (default
//!    2) at the same rate that are not counted (the pools' connections opening, statements
//!    first planned); for each counted command, the time from its `2xx` (the commit) to its
//!    event reaching a JetStream consumer (after JetStream stored and acknowledged it). Target: p99 <= 50 ms. Beside it, in the same run, the same
//!    commands' delay to the `products` read model's commit (a follower of the log with no
//!    broker: what following the log costs here before any publishing).
//!
//! Run: `cargo bench --bench relay` (needs `nats-server`: scripts/install-test-tools);
//! `OMS_BENCH_PART=throughput` or `delay` runs one part.

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, context::Publish};
use cqrs_es::persist::SerializedEvent;
use event_store::embedded::Durability;
use event_store::{EventLog, LogFilter, LogPosition};
use futures_util::StreamExt;
use oms::cli::Role;
use projections::runtime::Runtime;
use relay::testing::NatsServer;
use serde_json::json;
use support::Client;

const TARGET_RATIO: f64 = 0.5;
const TARGET_P99: Duration = Duration::from_millis(50);
const WINDOW: usize = 1_000;

/// Product-stock events, as the log holds them: 100 per product.
async fn seed(log: &EventLog, total: u64) {
    let mut batch = Vec::with_capacity(1_000);
    for n in 0..total {
        batch.push(SerializedEvent {
            aggregate_id: format!("SKU-{:06}", n / 100),
            sequence: (n % 100 + 1) as usize,
            aggregate_type: "Product".into(),
            event_type: "StockReserved".into(),
            event_version: "1".into(),
            payload: json!({"StockReserved": {"order_id": uuid::Uuid::from_u128(u128::from(n)), "quantity": n % 5 + 1}}),
            metadata: json!({
                "correlation_id": uuid::Uuid::from_u128(u128::from(n / 3)),
                "causation_id": format!("event:{n}"),
                "actor": {"sub": "oms", "roles": ["system"]},
            }),
        });
        if batch.len() == 1_000 {
            log.append(&batch).await.expect("seeding");
            batch.clear();
        }
    }
    if !batch.is_empty() {
        log.append(&batch).await.expect("seeding");
    }
}

/// The relay's messages for the whole log, built as the relay builds them.
async fn messages(log: &EventLog) -> Vec<relay::cloudevent::Message> {
    let (mut after, mut out) = (LogPosition::START, Vec::new());
    loop {
        let batch = log
            .read_after(after, 10_000, &LogFilter::default())
            .await
            .expect("read");
        if batch.events.is_empty() {
            return out;
        }
        for event in &batch.events {
            out.push(relay::cloudevent::message(event).expect("message"));
        }
        after = batch.next;
    }
}

/// One client publishing `messages` into a stream like the relay's, `WINDOW` in flight.
async fn raw_rate(nats: &NatsServer, messages: Vec<relay::cloudevent::Message>) -> f64 {
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let js = jetstream::new(client);
    let mut config = relay::stream::config("RAW");
    config.subjects = vec!["raw.>".to_owned()];
    js.create_stream(config).await.expect("raw stream");
    let total = messages.len();
    let started = Instant::now();
    let mut messages = messages.into_iter().peekable();
    while messages.peek().is_some() {
        let mut acks = Vec::with_capacity(WINDOW);
        for message in messages.by_ref().take(WINDOW) {
            let publish = Publish::build()
                .payload(message.body)
                .message_id(message.id.to_string());
            let subject = format!("raw.{}", message.subject);
            acks.push(js.send_publish(subject, publish).await.expect("publish"));
        }
        for ack in acks {
            assert!(!ack.await.expect("ack").duplicate);
        }
    }
    total as f64 / started.elapsed().as_secs_f64()
}

async fn relay_runtime(log: &EventLog, nats: &NatsServer) -> Runtime {
    oms::serve::relay(
        log,
        relay::Settings {
            url: nats.url(),
            stream: relay::DEFAULT_STREAM.to_owned(),
        },
    )
    .await
    .expect("relay")
}

/// The relay from position 0 to the head: events/s.
async fn relay_rate(log: &EventLog, nats: &NatsServer, total: u64) -> f64 {
    let started = Instant::now();
    let running = relay_runtime(log, nats).await.spawn();
    loop {
        let status = projections::status::status(log, &[relay::NAME])
            .await
            .expect("status");
        if status[0].lag == 0 && status[0].position > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    running.stop().await;
    rate
}

async fn throughput() -> bool {
    let total = support::env_or("OMS_BENCH_EVENTS", 1_000_000_u64);
    let (_dir, server, pool) = support::database(Durability::Full).await;
    let log = EventLog::new(pool.clone());
    eprintln!("relay: seeding {total} events...");
    seed(&log, total).await;
    sqlx::query("VACUUM ANALYZE events")
        .execute(&pool)
        .await
        .expect("vacuum");
    let nats = NatsServer::start();
    let building = Instant::now();
    let messages = messages(&log).await;
    let built = total as f64 / building.elapsed().as_secs_f64();
    assert_eq!(messages.len() as u64, total);
    eprintln!("relay: raw publishing {total} messages...");
    let raw = raw_rate(&nats, messages).await;
    eprintln!("relay: relaying {total} events...");
    let relayed = relay_rate(&log, &nats, total).await;
    let ratio = relayed / raw;
    println!("relay throughput ({total} events, JetStream file storage, {WINDOW} in flight):");
    println!("  raw JetStream publish   {raw:>10.0} msgs/s");
    println!("  log read + CloudEvents  {built:>10.0} events/s (no NATS)");
    println!("  relay (log to stream)   {relayed:>10.0} events/s   ratio {ratio:.2} (target >= {TARGET_RATIO})");
    support::stop(pool, server).await;
    ratio >= TARGET_RATIO
}

async fn delay() -> bool {
    let seconds = support::env_or("OMS_BENCH_SECONDS", 20_u64);
    let rate = support::env_or("OMS_BENCH_RATE", 1_000_u64);
    let warmup = support::env_or("OMS_BENCH_WARMUP", 2_u64);
    let (_dir, server, pool) = support::database(Durability::Full).await;
    let log = EventLog::new(pool.clone());
    let nats = NatsServer::start();
    let addr = support::serve(oms::serve::app(Role::CommandApi, log.clone())).await;
    let projectors = oms::serve::projectors(&log).spawn();
    let relay = relay_runtime(&log, &nats).await.spawn();
    let skus: Vec<String> = (0..50).map(|n| format!("SKU-{n}")).collect();
    support::shop(addr, skus.clone()).await;

    // When each command committed (by position), and when its event reached a consumer.
    let committed: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let arrived: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let js = jetstream::new(client);
    let stream = loop {
        if let Ok(stream) = js.get_stream(relay::DEFAULT_STREAM).await {
            break stream;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: "oms.events.product.ProductRestocked".to_owned(),
            deliver_policy: jetstream::consumer::DeliverPolicy::New,
            ..Default::default()
        })
        .await
        .expect("consumer");
    // When the `products` projection committed past each position (its notifications).
    let projected: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .expect("listener");
    listener
        .listen(projections::notify::CHANNEL)
        .await
        .expect("listen");
    let watching = {
        let projected = projected.clone();
        tokio::spawn(async move {
            while let Ok(notification) = listener.recv().await {
                let at = Instant::now();
                if let Some(committed) =
                    projections::notify::Committed::parse(notification.payload())
                {
                    if committed.projection == "products" {
                        projected
                            .lock()
                            .expect("lock")
                            .push((committed.checkpoint.position, at));
                    }
                }
            }
        })
    };
    let listening = {
        let arrived = arrived.clone();
        let mut messages = consumer.messages().await.expect("messages");
        tokio::spawn(async move {
            while let Some(Ok(message)) = messages.next().await {
                let at = Instant::now();
                let event: serde_json::Value =
                    serde_json::from_slice(&message.payload).expect("CloudEvent");
                let position = event["position"].as_i64().expect("position");
                arrived.lock().expect("lock").insert(position, at);
            }
        })
    };

    // `rate` commands/s, paced, from 64 keep-alive clients (enough that a slow answer does
    // not hold the rate back).
    let clients = 64_u64;
    let (warm, total) = (rate * warmup, rate * seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..clients {
        let committed = committed.clone();
        let skus = skus.clone();
        tasks.spawn(async move {
            let mut client = Client::connect(addr).await;
            let mut n = c;
            while n < warm + total {
                let due = started + Duration::from_micros(n * 1_000_000 / rate);
                tokio::time::sleep_until(due.into()).await;
                let sku = &skus[(n as usize) % skus.len()];
                let (status, reply) = client
                    .post(&format!("/products/{sku}/restock"), r#"{"quantity": 1}"#)
                    .await;
                let at = Instant::now();
                assert_eq!(status, 200, "{reply}");
                let position = reply["position"].as_i64().expect("position");
                if n >= warm {
                    committed.lock().expect("lock").insert(position, at);
                }
                n += clients;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("client");
    }
    let achieved = (warm + total) as f64 / started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrived.lock().expect("lock").len() < (warm + total) as usize && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    listening.abort();
    watching.abort();
    let projected = projected.lock().expect("lock").clone();
    let (committed, arrived) = (
        committed.lock().expect("lock").clone(),
        arrived.lock().expect("lock").clone(),
    );
    let mut delays: Vec<Duration> = committed
        .iter()
        .map(|(position, at)| {
            arrived
                .get(position)
                .map_or(Duration::MAX, |got| got.saturating_duration_since(*at))
        })
        .collect();
    delays.sort_unstable();
    let missing = delays.iter().filter(|d| **d == Duration::MAX).count();
    let p50 = support::percentile(&delays, 0.50);
    let p99 = support::percentile(&delays, 0.99);
    // A command's position is behind the first checkpoint at or past it in log order;
    // positions are not the log order, so take the first notification whose checkpoint
    // position is at or past it (an upper bound on when it was applied).
    let mut read_model: Vec<Duration> = committed
        .iter()
        .map(|(position, at)| {
            projected
                .iter()
                .find(|(reached, got)| reached >= position && got >= at)
                .map_or(Duration::MAX, |(_, got)| got.saturating_duration_since(*at))
        })
        .collect();
    read_model.sort_unstable();
    println!(
        "relay delay (commit to JetStream consumer; {total} restocks after {warm} not counted, at {achieved:.0}/s, all roles in one process):"
    );
    println!(
        "  p50 {:.1} ms   p99 {:.1} ms (target <= {} ms)   missing {missing}",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        TARGET_P99.as_millis()
    );
    println!(
        "  beside it, commit to the products read model's commit: p50 {:.1} ms   p99 {:.1} ms",
        support::percentile(&read_model, 0.50).as_secs_f64() * 1e3,
        support::percentile(&read_model, 0.99).as_secs_f64() * 1e3,
    );
    relay.stop().await;
    projectors.stop().await;
    support::stop(pool, server).await;
    missing == 0 && p99 <= TARGET_P99
}

#[tokio::main]
async fn main() {
    let only = std::env::var("OMS_BENCH_PART").unwrap_or_default();
    let mut met = true;
    if only.is_empty() || only == "throughput" {
        met &= throughput().await;
    }
    if only.is_empty() || only == "delay" {
        met &= delay().await;
    }
    println!("targets {}", if met { "met" } else { "NOT met" });
}
