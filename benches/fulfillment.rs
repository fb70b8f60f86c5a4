//! The whole flow as `oms serve` runs it: command API, every read model and the
//! order-fulfillment process manager in one process, over HTTP on loopback, against an
//! embedded PostgreSQL with full durability (fsync on).
//!
//! 1. N orders (two lines each over 50 skus with ample stock) at 1, 8 and 32 clients:
//!    intake orders/s (accepted by `POST /orders`), settled orders/s (from the first
//!    order placed to the last one out of PLACED), their ratio, and placed→CONFIRMED
//!    latency p50/p99, all times taken from the events' recorded times except intake.
//! 2. A hot sku: 20,000 orders of one product at 8 clients, orders/s and p50 per tenth
//!    for intake and for settling: a command's cost must not grow with the product's
//!    history, nor the manager's.
//!
//! Targets on the 2-core reference machine: settled ≥ 0.9× intake at 32 clients;
//! placed→CONFIRMED p99 ≤ 250 ms at 8 clients; the hot sku's last tenth ≥ 0.8× its first,
//! for intake and settling.
//!
//! Run: `cargo bench --bench fulfillment` (OMS_BENCH_ORDERS=N orders per level,
//! OMS_BENCH_HOT=N orders of the hot sku).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::Product;
use event_store::embedded::Durability;
use event_store::{AggregateStore, EventLog};
use oms::cli::Role;
use serde_json::{json, Value};
use sqlx::PgPool;
use support::{percentile, Client};

const PRODUCTS: usize = 50;
const HOT_SKU: &str = "HOT";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One order as a client saw it: its id, when its 201 came, how long that took.
struct Accepted {
    id: String,
    at: Instant,
    latency: Duration,
}

/// What the log says of one order: placed, and left PLACED (confirmed or rejected).
struct Settled {
    placed: DateTime<Utc>,
    decided: DateTime<Utc>,
    confirmed: bool,
}

#[tokio::main]
async fn main() {
    let per_level = env("OMS_BENCH_ORDERS", 4_000);
    let hot = env("OMS_BENCH_HOT", 20_000);
    let (_dir, server, pool) = support::database(Durability::Full).await;
    let log = EventLog::new(pool.clone());
    let addr = support::serve(oms::serve::app(Role::All, log.clone())).await;
    let projectors = oms::serve::projectors(&log).spawn();

    let (customer, address) = support::shop(
        addr,
        (0..PRODUCTS)
            .map(|n| format!("SKU-{n}"))
            .chain([HOT_SKU.to_owned()]),
    )
    .await;
    let order_body = {
        let (customer, address) = (customer.clone(), address.clone());
        move |lines: Vec<Value>| {
            json!({"customer_id": customer, "shipping_address_id": address, "lines": lines})
                .to_string()
        }
    };

    println!("fulfillment ({per_level} orders per level, 2 lines over {PRODUCTS} skus; all roles in one process, fsync on):");
    println!("  clients  intake/s  settled/s  settled/intake | placed→CONFIRMED p50 ms  p99 ms");
    let mut verdicts = Vec::new();
    for clients in [1_usize, 8, 32] {
        let body = order_body.clone();
        let accepted = intake(addr, clients, per_level, move |worker, i| {
            body((0..2)
                .map(|l| json!({"sku": format!("SKU-{}", (worker * 7 + i * 3 + l * 11) % PRODUCTS), "quantity": 1}))
                .collect())
        })
        .await;
        let intake_rate = rate(&accepted);
        let settled = settle(&pool, &accepted).await;
        let first_placed = settled.iter().map(|s| s.placed).min().expect("orders");
        let last_decided = settled.iter().map(|s| s.decided).max().expect("orders");
        let settle_rate = settled.len() as f64 / seconds(last_decided - first_placed);
        let mut to_confirmed: Vec<Duration> = settled
            .iter()
            .filter(|s| s.confirmed)
            .map(|s| (s.decided - s.placed).to_std().unwrap_or_default())
            .collect();
        assert_eq!(to_confirmed.len(), settled.len(), "every order is in stock");
        to_confirmed.sort_unstable();
        let (p50, p99) = (
            percentile(&to_confirmed, 0.5),
            percentile(&to_confirmed, 0.99),
        );
        println!(
            "  {clients:>7} {intake_rate:>9.0} {settle_rate:>10.0} {:>15.2} | {:>22.1} {:>7.1}",
            settle_rate / intake_rate,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
        );
        if clients == 32 {
            verdicts.push((
                "settled >= 0.9x intake at 32 clients",
                settle_rate >= 0.9 * intake_rate,
            ));
        }
        if clients == 8 {
            verdicts.push((
                "placed->CONFIRMED p99 <= 250 ms at 8 clients",
                p99 <= Duration::from_millis(250),
            ));
        }
    }

    println!("hot sku ({hot} orders of {HOT_SKU}, 8 clients), per tenth:");
    println!("  tenth | intake/s  p50 ms | settled/s  p50 placed→decided ms");
    let body = order_body.clone();
    let mut accepted = intake(addr, 8, hot, move |_, _| {
        body(vec![json!({"sku": HOT_SKU, "quantity": 1})])
    })
    .await;
    accepted.sort_by_key(|a| a.at);
    let settled = settle(&pool, &accepted).await;
    let tenth = accepted.len() / 10;
    let mut intake_tenths = Vec::new();
    let mut settle_tenths = Vec::new();
    let mut by_decision: Vec<&Settled> = settled.iter().collect();
    by_decision.sort_by_key(|s| s.decided);
    let first_placed = settled.iter().map(|s| s.placed).min().expect("orders");
    for t in 0..10 {
        // Intake: the tenth's answers, from the previous tenth's last answer.
        let part = &accepted[t * tenth..(t + 1) * tenth];
        let start = match t {
            0 => part[0].at - part[0].latency,
            _ => accepted[t * tenth - 1].at,
        };
        let intake_rate = part.len() as f64 / (part[part.len() - 1].at - start).as_secs_f64();
        let mut latencies: Vec<Duration> = part.iter().map(|a| a.latency).collect();
        latencies.sort_unstable();
        // Settling: the tenth's decisions, from the previous tenth's last decision.
        let decided = &by_decision[t * tenth..(t + 1) * tenth];
        let since = match t {
            0 => first_placed,
            _ => by_decision[t * tenth - 1].decided,
        };
        let settle_rate =
            decided.len() as f64 / seconds(decided[decided.len() - 1].decided - since);
        let mut waits: Vec<Duration> = decided
            .iter()
            .map(|s| (s.decided - s.placed).to_std().unwrap_or_default())
            .collect();
        waits.sort_unstable();
        println!(
            "  {:>5} | {intake_rate:>8.0} {:>7.1} | {settle_rate:>9.0} {:>22.1}",
            t + 1,
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&waits, 0.5).as_secs_f64() * 1e3,
        );
        intake_tenths.push(intake_rate);
        settle_tenths.push(settle_rate);
    }
    let intake_ratio = intake_tenths[9] / intake_tenths[0];
    let settle_ratio = settle_tenths[9] / settle_tenths[0];
    println!("  last tenth / first: intake {intake_ratio:.2}, settled {settle_ratio:.2}");
    verdicts.push((
        "hot sku intake last tenth >= 0.8x first",
        intake_ratio >= 0.8,
    ));
    verdicts.push((
        "hot sku settled last tenth >= 0.8x first",
        settle_ratio >= 0.8,
    ));

    // A command's load: the hot product, with its whole history behind it, against a new one.
    let (status, reply) = Client::connect(addr)
        .await
        .post("/products", &json!({"sku": "NEW", "name": "New", "price": {"amount": "9.90", "currency": "EUR"}, "stock": 10}).to_string())
        .await;
    assert_eq!(status, 201, "{reply}");
    let store = AggregateStore::new(
        log.clone(),
        domain::events::upcasters(),
        domain::events::SNAPSHOTS,
    );
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1")
        .bind(HOT_SKU)
        .fetch_one(&pool)
        .await
        .expect("count");
    let (mut hot_loads, mut new_loads) = (Vec::new(), Vec::new());
    for _ in 0..2_000 {
        for (sku, times) in [(HOT_SKU, &mut hot_loads), ("NEW", &mut new_loads)] {
            let started = Instant::now();
            store.load::<Product>(sku).await.expect("load");
            times.push(started.elapsed());
        }
    }
    hot_loads.sort_unstable();
    new_loads.sort_unstable();
    let (hot_p50, new_p50) = (percentile(&hot_loads, 0.5), percentile(&new_loads, 0.5));
    println!(
        "loading {HOT_SKU} ({history} events behind it) p50 {:.0} µs, a new product {:.0} µs: {:.2}x",
        hot_p50.as_secs_f64() * 1e6,
        new_p50.as_secs_f64() * 1e6,
        hot_p50.as_secs_f64() / new_p50.as_secs_f64()
    );

    for (what, met) in verdicts {
        println!("  target {what}: {}", if met { "met" } else { "NOT met" });
    }
    support::report_memory();

    projectors.stop().await;
    support::stop(pool, server).await;
}

/// Places `total` orders over `clients` connections; `body(worker, i)` is each order.
async fn intake<F>(
    addr: std::net::SocketAddr,
    clients: usize,
    total: usize,
    body: F,
) -> Vec<Accepted>
where
    F: Fn(usize, usize) -> String + Send + Sync + 'static,
{
    let body = Arc::new(body);
    let share = total / clients;
    let workers: Vec<_> = (0..clients)
        .map(|worker| {
            let body = body.clone();
            tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                let mut accepted = Vec::with_capacity(share);
                for i in 0..share {
                    let request = body(worker, i);
                    let started = Instant::now();
                    let (status, reply) = client.post("/orders", &request).await;
                    assert_eq!(status, 201, "{reply}");
                    accepted.push(Accepted {
                        id: reply["id"].as_str().expect("id").to_owned(),
                        at: Instant::now(),
                        latency: started.elapsed(),
                    });
                }
                accepted
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    for worker in workers {
        all.extend(worker.await.expect("client"));
    }
    all
}

/// Orders accepted per second, from the first request sent to the last answer.
fn rate(accepted: &[Accepted]) -> f64 {
    let start = accepted
        .iter()
        .map(|a| a.at - a.latency)
        .min()
        .expect("orders");
    let end = accepted.iter().map(|a| a.at).max().expect("orders");
    accepted.len() as f64 / (end - start).as_secs_f64()
}

fn seconds(span: chrono::TimeDelta) -> f64 {
    span.to_std().unwrap_or_default().as_secs_f64().max(1e-3)
}

/// Waits until every order in `accepted` left PLACED, then reads when each was placed and
/// decided from the log.
async fn settle(pool: &PgPool, accepted: &[Accepted]) -> Vec<Settled> {
    let ids: Vec<String> = accepted.iter().map(|a| a.id.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let decided: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE aggregate_type = 'Order' AND sequence = 2
               AND aggregate_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_one(pool)
        .await
        .expect("count");
        if decided as usize == ids.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "orders still PLACED after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT p.recorded_at, d.recorded_at, d.event_type
         FROM events p JOIN events d
           ON d.aggregate_type = p.aggregate_type AND d.aggregate_id = p.aggregate_id AND d.sequence = 2
         WHERE p.aggregate_type = 'Order' AND p.sequence = 1 AND p.aggregate_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
    .expect("settled orders");
    rows.into_iter()
        .map(|(placed, decided, event_type)| Settled {
            placed,
            decided,
            confirmed: event_type == "OrderConfirmed",
        })
        .collect()
}
