//! `POST /orders` under load, over HTTP on loopback, against an embedded PostgreSQL with
//! full durability (fsync on), at 1, 8 and 32 concurrent clients.
//!
//! Reports orders/s and p50/p99 latency per concurrency, and a baseline measured in the
//! same run on the same server: raw PostgreSQL, one single-row insert transaction per
//! "order" at the same concurrency (what a commit costs here). Targets on the 2-core
//! reference machine: orders/s >= 1.0x the raw commit rate at 32 clients and >= 0.6x at 8,
//! with p99 no worse than before commands were committed in groups (docs/adr/0015).
//!
//! Beside them, in the same run, the same command shape on cqrs-es and postgres-es
//! (`support::cqrs_es_peer`: the same input, aggregates and decision, loaded through a
//! postgres-es event store and executed by a postgres-es `CqrsFramework`), at the same
//! concurrency on the same server.
//!
//! Then the cost of authentication: the 32-client load on an open listener and on one
//! with `OMS_AUTH=jwt` (a customer's token) in turn, eight rounds; target: on/off >= 0.95.
//!
//! Run: `cargo bench --bench orders_load` (OMS_BENCH_ORDERS=N orders per concurrency level).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

mod support;

use std::time::Instant;

use domain::values::CustomerId;
use event_store::embedded::Durability;
use event_store::EventLog;
use oms::cli::Role;
use serde_json::{json, Value};
use support::{measure, Client};

/// Orders/s over raw commits/s, and p99 (ms) before group commit, per concurrency.
const TARGETS: [(usize, f64, f64); 2] = [(8, 0.6, 12.80), (32, 1.0, 99.94)];
const PRODUCTS: usize = 50;

#[tokio::main]
async fn main() {
    let per_level: usize = support::env_or("OMS_BENCH_ORDERS", 4_000);
    let (_dir, server, pool) = support::database(Durability::Full).await;

    let addr = support::serve(oms::serve::app(
        Role::CommandApi,
        EventLog::new(support::request_pool(&server)),
    ))
    .await;

    // A customer with an address, and a catalog with plenty of stock.
    let (customer, address) = support::shop(addr, (0..PRODUCTS).map(|n| format!("SKU-{n}"))).await;

    sqlx::query("CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, payload jsonb NOT NULL)")
        .execute(&pool)
        .await
        .expect("baseline table");
    let skus = (0..PRODUCTS).map(|n| format!("SKU-{n}"));
    let (peer_addr, peer_customer, peer_address) =
        support::cqrs_es_peer::start(&server, skus).await;
    println!("orders_load ({per_level} orders per level, fsync on, loopback HTTP):");
    println!("  clients   orders/s    p50 ms    p99 ms | raw PG commits/s   ratio | cqrs-es orders/s  p99 ms  OMS is");
    let mut verdicts = Vec::new();
    for clients in [1_usize, 8, 32] {
        let share = per_level / clients;
        let orders = place(addr, None, clients, share, &customer, &address).await;
        let peer = place(
            peer_addr,
            None,
            clients,
            share,
            &peer_customer,
            &peer_address,
        )
        .await;
        let raw = {
            let pool = pool.clone();
            measure(clients, share * clients, move |_| {
                let pool = pool.clone();
                async move {
                    let mut latencies = Vec::with_capacity(share);
                    for i in 0..share {
                        let started = Instant::now();
                        let mut tx = pool.begin().await.expect("begin");
                        sqlx::query("INSERT INTO bench_baseline (payload) VALUES ($1)")
                            .bind(json!({"order": i, "lines": [{"sku": "SKU-1", "quantity": 1}]}))
                            .execute(&mut *tx)
                            .await
                            .expect("insert");
                        tx.commit().await.expect("commit");
                        latencies.push(started.elapsed());
                    }
                    latencies
                }
            })
            .await
        };
        let ratio = orders.per_second / raw.per_second;
        let p99 = orders.p99.as_secs_f64() * 1e3;
        for (at, target, p99_before) in TARGETS {
            if at == clients {
                let met = ratio >= target && p99 <= p99_before;
                verdicts.push(format!(
                    "  target at {at} clients: ratio >= {target:.1} ({ratio:.2}), p99 <= {p99_before:.1} ms ({p99:.1}): {}",
                    if met { "met" } else { "NOT met" }
                ));
            }
        }
        println!(
            "  {clients:>7} {:>10.0} {:>9.2} {:>9.2} | {:>16.0} {:>7.2} | {:>16.0} {:>7.2} {:>6.2}x",
            orders.per_second,
            orders.p50.as_secs_f64() * 1e3,
            p99,
            raw.per_second,
            ratio,
            peer.per_second,
            peer.p99.as_secs_f64() * 1e3,
            orders.per_second / peer.per_second
        );
    }
    for verdict in verdicts {
        println!("{verdict}");
    }
    support::report_memory();

    // The same load with authentication on (a customer's HS256 token, verified and held
    // to its customer on every order), against a second listener on the same database,
    // alternating with the open one so both see the same server state.
    let secured_addr = support::serve(support::authenticated_app(
        Role::CommandApi,
        EventLog::new(support::request_pool(&server)),
    ))
    .await;
    let owner = CustomerId::parse(&customer).expect("a customer id");
    let token = auth::testing::token(auth::Role::Customer, Some(owner));
    let share = per_level / 32;
    println!("  authentication at 32 clients (a customer's token), open and on in turn:");
    support::authentication_cost("POST /orders", &token, |secured| {
        let (target, token) = if secured {
            (secured_addr, Some(token.as_str()))
        } else {
            (addr, None)
        };
        place(target, token, 32, share, &customer, &address)
    })
    .await;
    support::stop(pool, server).await;
}

/// `clients` clients placing `share` orders each for `customer` (1 to 3 lines over the
/// catalog), with `token` as bearer when given.
async fn place(
    addr: std::net::SocketAddr,
    token: Option<&str>,
    clients: usize,
    share: usize,
    customer: &str,
    address: &str,
) -> support::Run {
    let (customer, address) = (customer.to_owned(), address.to_owned());
    let token = token.map(str::to_owned);
    measure(clients, share * clients, move |worker| {
        let (customer, address, token) = (customer.clone(), address.clone(), token.clone());
        async move {
            let mut client = Client::connect_as(addr, token.as_deref()).await;
            let mut latencies = Vec::with_capacity(share);
            for i in 0..share {
                let lines: Vec<Value> = (0..1 + (i % 3))
                    .map(|l| json!({"sku": format!("SKU-{}", (worker * 7 + i * 3 + l) % PRODUCTS), "quantity": 1 + l}))
                    .collect();
                let body = json!({"customer_id": customer, "shipping_address_id": address, "lines": lines})
                    .to_string();
                let started = Instant::now();
                let (status, reply) = client.post("/orders", &body).await;
                latencies.push(started.elapsed());
                assert_eq!(status, 201, "{reply}");
            }
            latencies
        }
    })
    .await
}
