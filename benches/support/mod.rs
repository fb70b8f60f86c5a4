//! What the load benchmarks share: a keep-alive HTTP client and a concurrent measurer.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_store::embedded::{self, Durability, EmbeddedPostgres};
use event_store::testing::private_server;
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub mod cqrs_es_peer;
pub mod read_model;

/// A private PostgreSQL with the migrated `oms` database, and a pool of 40 on it.
pub async fn database(durability: Durability) -> (tempfile::TempDir, EmbeddedPostgres, PgPool) {
    let (dir, server) = tokio::task::spawn_blocking(move || private_server(durability))
        .await
        .expect("join");
    let options = server.connect_options(embedded::DATABASE);
    embedded::ensure_database(&options, embedded::DATABASE)
        .await
        .expect("database");
    let pool = event_store::pool_options()
        .max_connections(40)
        .connect_with(options)
        .await
        .expect("pool");
    event_store::migrate(&pool).await.expect("migrate");
    (dir, server, pool)
}

/// The number in environment variable `name`, or `default` when it is unset or not one.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A pool on `server`'s `oms` database like `oms serve`'s for request paths (commands,
/// GraphQL): its statement and lock timeouts, statements planned once.
pub fn request_pool(server: &EmbeddedPostgres) -> PgPool {
    event_store::pool_options().connect_lazy_with(event_store::request_limits(
        server.connect_options(embedded::DATABASE),
    ))
}

/// Serves `app` on a loopback port.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A customer with an address and a catalog of `skus`, each with a million in stock, set
/// up over HTTP: (customer id, address id).
pub async fn shop(addr: SocketAddr, skus: impl IntoIterator<Item = String>) -> (String, String) {
    let mut setup = Client::connect(addr).await;
    let (_, customer) = setup
        .post(
            "/customers",
            &serde_json::json!({"name": "Bench", "email": "bench@example.com"}).to_string(),
        )
        .await;
    let customer = customer["id"].as_str().expect("customer").to_owned();
    let address = serde_json::json!({"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"});
    let (_, added) = setup
        .post(
            &format!("/customers/{customer}/addresses"),
            &address.to_string(),
        )
        .await;
    let address = added["address_id"].as_str().expect("address").to_owned();
    for sku in skus {
        let product = serde_json::json!({"sku": sku, "name": format!("Product {sku}"), "price": {"amount": "9.90", "currency": "EUR"}, "stock": 1_000_000});
        let (status, reply) = setup.post("/products", &product.to_string()).await;
        assert_eq!(status, 201, "{reply}");
    }
    (customer, address)
}

/// The most memory this process has held (`VmHWM`), in MiB: the server under test, its
/// pools and the load generator together, so an upper bound of the server's own.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

/// Prints [`peak_rss_mib`] against the memory target of `oms serve` under load.
pub fn report_memory() {
    const TARGET_MIB: f64 = 150.0;
    let peak = peak_rss_mib();
    println!(
        "  peak RSS of the process (server, pools and load generator): {peak:.0} MiB (target <= {TARGET_MIB:.0}): {}",
        if peak <= TARGET_MIB { "met" } else { "NOT met" }
    );
}

/// Closes `pool` and stops `server`.
pub async fn stop(pool: PgPool, server: EmbeddedPostgres) {
    pool.close().await;
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("join")
        .expect("stopping PostgreSQL");
}

/// A minimal keep-alive HTTP/1.1 client for one connection.
pub struct Client {
    stream: BufReader<TcpStream>,
    /// `Authorization: Bearer …` sent with every request, when set.
    authorization: String,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self::connect_as(addr, None).await
    }

    /// A client sending `token` as its bearer token (none: no `Authorization`).
    pub async fn connect_as(addr: SocketAddr, token: Option<&str>) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connecting");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream: BufReader::new(stream),
            authorization: token
                .map(|t| format!("Authorization: Bearer {t}\r\n"))
                .unwrap_or_default(),
        }
    }

    pub async fn post(&mut self, path: &str, body: &str) -> (u16, Value) {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.authorization,
            body.len()
        );
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .expect("writing");
        let mut line = String::new();
        self.stream.read_line(&mut line).await.expect("status line");
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let (mut length, mut chunked) = (0, false);
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("length");
                }
                if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.trim().eq_ignore_ascii_case("chunked");
                }
            }
        }
        let body = if chunked {
            self.read_chunks().await
        } else {
            let mut body = vec![0; length];
            self.stream.read_exact(&mut body).await.expect("body");
            body
        };
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// A chunked body (the servers of some peers send one).
    async fn read_chunks(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.expect("chunk size");
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .expect("chunk size");
            let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
            self.stream.read_exact(&mut chunk).await.expect("chunk");
            if size == 0 {
                return body;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub struct Run {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// Runs `total` operations over `clients` concurrent workers; `op` returns one latency.
pub async fn measure<F, Fut>(clients: usize, total: usize, op: F) -> Run
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Vec<Duration>> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|worker| {
            let op = op.clone();
            tokio::spawn(async move { op(worker).await })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Run {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
    }
}

/// The app of `role` on `log` with authentication on (HS256, the test tokens of
/// `auth::testing`), as `OMS_AUTH=jwt` serves it.
pub fn authenticated_app(role: oms::cli::Role, log: event_store::EventLog) -> axum::Router {
    let front = oms::serve::Front {
        auth: auth::testing::authenticator(),
        ..oms::serve::Front::default()
    };
    oms::serve::app_with(role, log, front)
}

/// The share of throughput authentication may cost: on/off at least this.
pub const AUTH_TARGET: f64 = 0.95;

/// Runs `load(secured)` at 32 clients open (`false`) and with authentication (`true`),
/// eight rounds in the order off-on, on-off, … (so neither side always meets the fuller
/// database: back-to-back runs here differ by up to 20%), printing each round and the
/// median on/off throughput ratio against [`AUTH_TARGET`]; then what one verification of
/// the token costs on its own, and its share of the CPU time a request has at the open
/// rate. (Open and secured load at the same time would hide the cost: both sides then
/// wait in the same queues.)
pub async fn authentication_cost<F, Fut>(label: &str, token: &str, mut load: F)
where
    F: FnMut(bool) -> Fut,
    Fut: std::future::Future<Output = Run>,
{
    let mut ratios = Vec::new();
    let mut open_rates = Vec::new();
    for round in 1..=8 {
        let (off, on) = if round % 2 == 1 {
            let off = load(false).await;
            (off, load(true).await)
        } else {
            let on = load(true).await;
            (load(false).await, on)
        };
        let ratio = on.per_second / off.per_second;
        ratios.push(ratio);
        open_rates.push(off.per_second);
        println!(
            "  {label:<18} round {round}: off {:>7.0}/s  on {:>7.0}/s  on p99 {:>6.2} ms  on/off {ratio:.3}",
            off.per_second,
            on.per_second,
            on.p99.as_secs_f64() * 1e3,
        );
    }
    let auth = auth::testing::authenticator();
    let value = format!("Bearer {token}");
    let runs = 20_000;
    let started = Instant::now();
    for _ in 0..runs {
        auth.authenticate_value(&value)
            .await
            .expect("a valid token");
    }
    let each = started.elapsed() / runs;
    ratios.sort_by(f64::total_cmp);
    open_rates.sort_by(f64::total_cmp);
    // Of eight rounds: the mean of the middle two.
    let median = (ratios[3] + ratios[4]) / 2.0;
    let open_rate = (open_rates[3] + open_rates[4]) / 2.0;
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let share = each.as_secs_f64() * open_rate / cores;
    let verdict = if median >= AUTH_TARGET {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "  {label:<18} median on/off {median:.3} (target >= {AUTH_TARGET}: {verdict}); one verification {:.1} µs, {:.1}% of a request's CPU time at {open_rate:.0}/s on {cores} cores",
        each.as_secs_f64() * 1e6,
        share * 100.0
    );
}
