//! GraphQL reads side by side with the servers a user would otherwise put over these
//! tables: PostGraphile 4 and PostGraphile 5, each over the same read-model tables in the
//! same PostgreSQL, loaded by the same client, in one run.
//!
//! The read model is `graphql_load`'s (100,000 orders, two lines each), with a foreign key
//! from `order_lines` to `orders` added so that PostGraphile can nest an order's lines.
//! Each query asks every server for the same fields (OMS: `order(id:)` with its customer,
//! total and lines; `orders(first: 20)`, newest first; PostGraphile: `orderById` with
//! `orderLinesByOrderId`, `allOrders` ordered by `PLACED_AT_DESC, ID_DESC`; PostGraphile 5
//! calls the `id` column `rowId`), and every
//! answer is checked. The servers take turns, [`ROUNDS`] rounds each, at 32 connections;
//! all three reach PostgreSQL over its Unix socket, and share the two cores with it and
//! the load generator. Target: OMS >= 3x each peer's requests/s at no worse p99.
//!
//! The peers are pinned in `benches/peers/*/package-lock.json` and installed from npm by
//! `benches/peers/install`, which this benchmark runs when they are missing.
//!
//! Run: `cargo bench --bench peers` (OMS_BENCH_REQUESTS=N requests per query and round).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_store::embedded::{self, Durability};
use event_store::EventLog;
use oms::cli::Role;
use serde_json::{json, Value};
use support::read_model::{self, ORDER, PAGE};
use support::{measure, Client, Run};
use uuid::Uuid;

const CLIENTS: usize = 32;
const ROUNDS: usize = 2;
const TARGET: f64 = 3.0;

/// PostGraphile's `order(id:)`: the same fields as [`ORDER`] under its names.
const PG_ORDER: &str = "query($id: UUID!) { orderById(id: $id) { id status placedAt
    customerName customerEmail totalMinor currency
    orderLinesByOrderId(orderBy: LINE_NO_ASC) { nodes { sku productName quantity unitPriceMinor } } } }";

/// PostGraphile 5 names a table's `id` column `rowId` (its `id` is the node id).
const PG5_ORDER: &str = "query($id: UUID!) { orderByRowId(rowId: $id) { rowId status placedAt
    customerName customerEmail totalMinor currency
    orderLinesByOrderId(orderBy: LINE_NO_ASC) { nodes { sku productName quantity unitPriceMinor } } } }";

/// PostGraphile 5's first page of orders.
const PG5_PAGE: &str = "{ allOrders(first: 20, orderBy: [PLACED_AT_DESC, ROW_ID_DESC]) {
    edges { cursor node { rowId status placedAt customerName totalMinor currency } }
    pageInfo { hasNextPage endCursor } } }";

/// PostGraphile's first page of orders: the same fields as [`PAGE`].
const PG_PAGE: &str = "{ allOrders(first: 20, orderBy: [PLACED_AT_DESC, ID_DESC]) {
    edges { cursor node { id status placedAt customerName totalMinor currency } }
    pageInfo { hasNextPage endCursor } } }";

/// A GraphQL server under load: where it listens, and how its answers are read.
struct Server {
    name: &'static str,
    addr: SocketAddr,
    order: &'static str,
    page: &'static str,
    /// Where an order's lines are in the answer to `order`.
    lines: &'static str,
    /// Where the page's edges are in the answer to `page`.
    edges: &'static str,
}

const QUERIES: [&str; 2] = ["order(id:)", "orders(first: 20)"];

#[tokio::main]
async fn main() {
    let requests: usize = support::env_or("OMS_BENCH_REQUESTS", 20_000);
    let peers_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers");
    install(&peers_dir).await;

    let (dir, server, pool) = support::database(Durability::Off).await;
    let ids = Arc::new(read_model::fill(&pool).await);
    sqlx::query(
        "ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_fk
         FOREIGN KEY (order_id) REFERENCES orders (id)",
    )
    .execute(&pool)
    .await
    .expect("the foreign key PostGraphile nests lines by");

    let url = server.display_url(embedded::DATABASE);
    let logs = dir.path().to_owned();
    let (pg4_addr, _pg4) = postgraphile(&peers_dir, 4, &url, &logs).await;
    let (pg5_addr, _pg5) = postgraphile(&peers_dir, 5, &url, &logs).await;
    let oms = support::serve(oms::serve::app(
        Role::QueryGraphql,
        EventLog::new(support::request_pool(&server)),
    ))
    .await;
    let servers = [
        Server {
            name: "OMS",
            addr: oms,
            order: ORDER,
            page: PAGE,
            lines: "/data/order/lines",
            edges: "/data/orders/edges",
        },
        Server {
            name: "PostGraphile 4.14.1",
            addr: pg4_addr,
            order: PG_ORDER,
            page: PG_PAGE,
            lines: "/data/orderById/orderLinesByOrderId/nodes",
            edges: "/data/allOrders/edges",
        },
        Server {
            name: "PostGraphile 5.1.5",
            addr: pg5_addr,
            order: PG5_ORDER,
            page: PG5_PAGE,
            lines: "/data/orderByRowId/orderLinesByOrderId/nodes",
            edges: "/data/allOrders/edges",
        },
    ];

    let share = requests / CLIENTS;
    println!(
        "peers ({} orders; {requests} requests per query, server and round; {CLIENTS} connections; {ROUNDS} rounds in turn):",
        read_model::ORDERS
    );
    // Warm every server up (plans, caches, JIT) before anything is measured.
    for server in &servers {
        by_id(server, &ids, share / 4).await;
        page(server, share / 4).await;
    }
    let mut runs: Vec<[Vec<Run>; 2]> = servers.iter().map(|_| [Vec::new(), Vec::new()]).collect();
    for round in 1..=ROUNDS {
        for (server, runs) in servers.iter().zip(&mut runs) {
            let order = by_id(server, &ids, share).await;
            let listed = page(server, share).await;
            println!(
                "  round {round} {:<20} order(id:) {:>7.0}/s p99 {:>6.2} ms | orders(first: 20) {:>7.0}/s p99 {:>6.2} ms",
                server.name,
                order.per_second,
                ms(order.p99),
                listed.per_second,
                ms(listed.p99)
            );
            runs[0].push(order);
            runs[1].push(listed);
        }
    }

    println!("  query              server                  req/s    p99 ms   OMS is");
    let mut verdicts = Vec::new();
    for (q, query) in QUERIES.iter().enumerate() {
        let (oms_rate, oms_p99) = summary(&runs[0][q]);
        for (server, runs) in servers.iter().zip(&runs) {
            let (rate, p99) = summary(&runs[q]);
            let times = oms_rate / rate;
            println!(
                "  {query:<18} {:<20} {rate:>8.0} {:>9.2}   {}",
                server.name,
                ms(p99),
                if server.name == "OMS" {
                    String::new()
                } else {
                    format!("{times:.2}x")
                }
            );
            if server.name != "OMS" {
                let met = times >= TARGET && oms_p99 <= p99;
                verdicts.push(format!(
                    "  target {query} >= {TARGET:.0}x {} at no worse p99 ({times:.2}x, p99 {:.2} vs {:.2} ms): {}",
                    server.name,
                    ms(oms_p99),
                    ms(p99),
                    if met { "met" } else { "NOT met" }
                ));
            }
        }
    }
    for verdict in verdicts {
        println!("{verdict}");
    }
    support::stop(pool, server).await;
}

/// Requests/s over every round, and the worst round's p99.
fn summary(runs: &[Run]) -> (f64, Duration) {
    let rate = runs.iter().map(|r| r.per_second).sum::<f64>() / runs.len() as f64;
    let p99 = runs.iter().map(|r| r.p99).max().unwrap_or_default();
    (rate, p99)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Runs `benches/peers/install` unless both peers are installed.
async fn install(peers_dir: &Path) {
    let installed = [4, 5].iter().all(|v| {
        peers_dir
            .join(format!("postgraphile{v}/node_modules/postgraphile"))
            .is_dir()
    });
    if installed {
        return;
    }
    let status = tokio::process::Command::new(peers_dir.join("install"))
        .status()
        .await
        .expect("running benches/peers/install");
    assert!(status.success(), "benches/peers/install failed");
}

/// Starts PostGraphile `version` over `url`'s `public` schema on a free loopback port, its
/// output in `logs`; waits until it answers.
async fn postgraphile(
    peers_dir: &Path,
    version: u8,
    url: &str,
    logs: &Path,
) -> (SocketAddr, tokio::process::Child) {
    let addr = free_port();
    let dir = peers_dir.join(format!("postgraphile{version}"));
    let mut command = tokio::process::Command::new("node");
    if version == 5 {
        // PostGraphile 5 wants Node 22 for Promise.withResolvers alone.
        command.arg("--require").arg(dir.join("with-resolvers.cjs"));
    }
    let cli: PathBuf = match version {
        4 => dir.join("node_modules/postgraphile/cli.js"),
        _ => dir.join("node_modules/postgraphile/dist/cli-run.js"),
    };
    command
        .arg(cli)
        .args(["-c", url, "-s", "public", "-n", "127.0.0.1"]);
    command.arg("-p").arg(addr.port().to_string());
    match version {
        4 => command.arg("--disable-query-log"),
        _ => command.args(["-P", "postgraphile/presets/amber"]),
    };
    let log = std::fs::File::create(logs.join(format!("postgraphile{version}.log"))).expect("log");
    let child = command
        .current_dir(&dir)
        .env("NODE_ENV", "production")
        .env("GRAPHILE_ENV", "production")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("starting node (Debian's nodejs)");
    let started = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            let mut client = Client::connect(addr).await;
            let (status, reply) = client
                .post("/graphql", &json!({"query": "{ __typename }"}).to_string())
                .await;
            assert_eq!(status, 200, "PostGraphile {version}: {reply}");
            return (addr, child);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "PostGraphile {version} did not listen within 60 s; see {}",
            logs.join(format!("postgraphile{version}.log")).display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("addr")
}

/// `server.order` for spread ids from [`CLIENTS`] connections, `share` each.
async fn by_id(server: &Server, ids: &Arc<Vec<Uuid>>, share: usize) -> Run {
    let (query, ids) = (server.order, ids.clone());
    let body = move |worker: usize, i: usize| {
        let id = ids[(worker * 7_919 + i * 104_729) % ids.len()];
        json!({"query": query, "variables": {"id": id}}).to_string()
    };
    load(server.addr, share, body, server.lines, 2).await
}

/// `server.page` from [`CLIENTS`] connections, `share` each.
async fn page(server: &Server, share: usize) -> Run {
    let body = json!({"query": server.page}).to_string();
    load(
        server.addr,
        share,
        move |_, _| body.clone(),
        server.edges,
        20,
    )
    .await
}

/// `share` requests from each of [`CLIENTS`] connections to `addr`'s `/graphql`, request `i`
/// of connection `worker` sending `body(worker, i)`; every answer must hold `expected`
/// items at `pointer`.
async fn load<B>(
    addr: SocketAddr,
    share: usize,
    body: B,
    pointer: &'static str,
    expected: usize,
) -> Run
where
    B: Fn(usize, usize) -> String + Clone + Send + Sync + 'static,
{
    measure(CLIENTS, share * CLIENTS, move |worker| {
        let body = body.clone();
        async move {
            let mut client = Client::connect(addr).await;
            let mut latencies = Vec::with_capacity(share);
            for i in 0..share {
                let body = body(worker, i);
                let started = Instant::now();
                let (status, reply) = client.post("/graphql", &body).await;
                latencies.push(started.elapsed());
                assert!(
                    status == 200 && count(&reply, pointer) == Some(expected),
                    "{reply}"
                );
            }
            latencies
        }
    })
    .await
}

fn count(reply: &Value, pointer: &str) -> Option<usize> {
    reply.pointer(pointer)?.as_array().map(Vec::len)
}
