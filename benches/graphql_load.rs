//! GraphQL reads under load: `order(id:)` and `orders(first: 20)` at 32 connections over
//! loopback HTTP, against a read model of 100,000 orders (two lines and two status
//! changes each).
//!
//! Reports requests/s and p50/p99 per query, and a baseline measured in the same run on
//! the same server: the same rows read with plain SQL over the same pool size and
//! concurrency (`order`: the order and its lines; `orders`: the keyset page), so the
//! ratio is what the GraphQL layer (HTTP, parsing, validation, resolvers, JSON) costs.
//! The servers a user would otherwise pick, PostGraphile 4 and 5 over the same tables, are
//! measured side by side in `benches/peers.rs`; the target there is >= 3x their
//! requests/s at no worse p99.
//!
//! Then the cost of authentication: each query at 32 connections on an open listener and
//! on one with `OMS_AUTH=jwt` (a staff token) in turn, eight rounds; target: on/off >= 0.95.
//!
//! Run: `cargo bench --bench graphql_load` (OMS_BENCH_REQUESTS=N requests per query).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

mod support;

use std::sync::Arc;
use std::time::Instant;

use event_store::embedded::Durability;
use event_store::EventLog;
use oms::cli::Role;
use serde_json::json;
use support::read_model::{self, ORDER, ORDERS, PAGE};
use support::{measure, Client, Run};
use uuid::Uuid;

const CLIENTS: usize = 32;

fn report(name: &str, graphql: &Run, raw: &Run) {
    println!(
        "  {name:<18} {:>10.0} {:>9.2} {:>9.2} | {:>13.0} {:>9.2} {:>7.2}",
        graphql.per_second,
        graphql.p50.as_secs_f64() * 1e3,
        graphql.p99.as_secs_f64() * 1e3,
        raw.per_second,
        raw.p99.as_secs_f64() * 1e3,
        graphql.per_second / raw.per_second
    );
}

#[tokio::main]
async fn main() {
    let requests: usize = support::env_or("OMS_BENCH_REQUESTS", 20_000);
    let (_dir, server, pool) = support::database(Durability::Off).await;
    let filled = Instant::now();
    let ids = Arc::new(read_model::fill(&pool).await);
    println!(
        "graphql_load ({ORDERS} orders filled in {:.1} s; {requests} requests per query; {CLIENTS} connections):",
        filled.elapsed().as_secs_f64()
    );

    let addr = support::serve(oms::serve::app(
        Role::QueryGraphql,
        EventLog::new(support::request_pool(&server)),
    ))
    .await;

    let share = requests / CLIENTS;
    let by_id = order_by_id(addr, None, CLIENTS, &ids, share).await;
    let by_id_raw = {
        let (ids, pool) = (ids.clone(), pool.clone());
        measure(CLIENTS, share * CLIENTS, move |worker| {
            let (ids, pool) = (ids.clone(), pool.clone());
            async move {
                let mut latencies = Vec::with_capacity(share);
                for i in 0..share {
                    let id = ids[pick(worker, i, ids.len())];
                    let started = Instant::now();
                    let order: (Uuid, String, String) = sqlx::query_as(
                        "SELECT id, status, customer_name FROM orders WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .expect("order");
                    let lines: Vec<(String, i32)> = sqlx::query_as(
                        "SELECT sku, quantity FROM order_lines WHERE order_id = $1 ORDER BY line_no",
                    )
                    .bind(order.0)
                    .fetch_all(&pool)
                    .await
                    .expect("lines");
                    latencies.push(started.elapsed());
                    assert_eq!(lines.len(), 2);
                }
                latencies
            }
        })
        .await
    };
    let page = orders_page(addr, None, CLIENTS, share).await;
    let page_raw = {
        let pool = pool.clone();
        measure(CLIENTS, share * CLIENTS, move |_| {
            let pool = pool.clone();
            async move {
                let mut latencies = Vec::with_capacity(share);
                for _ in 0..share {
                    let started = Instant::now();
                    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
                        "SELECT id, status, customer_name FROM orders
                         ORDER BY placed_at DESC, id DESC LIMIT 21",
                    )
                    .fetch_all(&pool)
                    .await
                    .expect("page");
                    latencies.push(started.elapsed());
                    assert_eq!(rows.len(), 21);
                }
                latencies
            }
        })
        .await
    };
    println!("  query                 req/s    p50 ms    p99 ms | raw SQL ops/s    p99 ms   ratio");
    report("order(id:)", &by_id, &by_id_raw);
    report("orders(first: 20)", &page, &page_raw);
    support::report_memory();

    // The same queries with authentication on (a staff HS256 token, verified on every
    // request), on a second listener, alternating with the open one.
    let secured_addr = support::serve(support::authenticated_app(
        Role::QueryGraphql,
        EventLog::new(support::request_pool(&server)),
    ))
    .await;
    let token = auth::testing::token(auth::Role::Staff, None);
    println!("  authentication at 32 connections (a staff token), open and on in turn:");
    let at = |secured: bool| {
        if secured {
            (secured_addr, Some(token.as_str()))
        } else {
            (addr, None)
        }
    };
    support::authentication_cost("order(id:)", &token, |secured| {
        let (target, token) = at(secured);
        order_by_id(target, token, CLIENTS, &ids, share)
    })
    .await;
    support::authentication_cost("orders(first: 20)", &token, |secured| {
        let (target, token) = at(secured);
        orders_page(target, token, CLIENTS, share)
    })
    .await;
    support::stop(pool, server).await;
}

/// `order(id:)` from `clients` connections, `share` requests each, `token` as bearer if
/// given.
async fn order_by_id(
    addr: std::net::SocketAddr,
    token: Option<&str>,
    clients: usize,
    ids: &Arc<Vec<Uuid>>,
    share: usize,
) -> Run {
    let (ids, token) = (ids.clone(), token.map(str::to_owned));
    measure(clients, share * clients, move |worker| {
        let (ids, token) = (ids.clone(), token.clone());
        async move {
            let mut client = Client::connect_as(addr, token.as_deref()).await;
            let mut latencies = Vec::with_capacity(share);
            for i in 0..share {
                let id = ids[pick(worker, i, ids.len())];
                let body = json!({"query": ORDER, "variables": {"id": id}}).to_string();
                let started = Instant::now();
                let (status, reply) = client.post("/graphql", &body).await;
                latencies.push(started.elapsed());
                assert!(
                    status == 200 && reply["data"]["order"]["id"].is_string(),
                    "{reply}"
                );
            }
            latencies
        }
    })
    .await
}

/// `orders(first: 20)` from `clients` connections, `share` requests each.
async fn orders_page(
    addr: std::net::SocketAddr,
    token: Option<&str>,
    clients: usize,
    share: usize,
) -> Run {
    let token = token.map(str::to_owned);
    measure(clients, share * clients, move |_| {
        let token = token.clone();
        async move {
            let mut client = Client::connect_as(addr, token.as_deref()).await;
            let body = json!({"query": PAGE}).to_string();
            let mut latencies = Vec::with_capacity(share);
            for _ in 0..share {
                let started = Instant::now();
                let (status, reply) = client.post("/graphql", &body).await;
                latencies.push(started.elapsed());
                assert!(
                    status == 200
                        && reply["data"]["orders"]["edges"].as_array().map(Vec::len) == Some(20),
                    "{reply}"
                );
            }
            latencies
        }
    })
    .await
}

/// The order a worker's `i`-th request reads, spread over `n`.
fn pick(worker: usize, i: usize, n: usize) -> usize {
    (worker * 7_919 + i * 104_729) % n
}
