//! Test harness: a real PostgreSQL and a fresh database per test.
//!
//! Tests use `DATABASE_URL` when it is set (each test gets a new database on that
//! server); otherwise the first test of a test binary starts an embedded server in a
//! temporary folder, with fsync off, shared by the rest of that binary. A watchdog process
//! stops that server and removes its folder once the test binary has exited, however it
//! exited.
//!
//! Every test that takes a database is bounded in time: a watchdog thread ends the test
//! binary, naming the test, when one has held its database for longer than
//! [`TEST_LIMIT`] (`OMS_TEST_LIMIT_SECS` to change), so a hang fails within minutes.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgPool};

use crate::embedded::{give_to_server_user, Durability, EmbeddedPostgres};
use crate::EventLog;

/// How long one test may hold its database before the watchdog fails the test binary.
pub const TEST_LIMIT: Duration = Duration::from_secs(300);

/// The tests holding a database: its name, the test (thread) name, since when.
fn live_tests() -> &'static Mutex<HashMap<String, (String, Instant)>> {
    static LIVE: OnceLock<Mutex<HashMap<String, (String, Instant)>>> = OnceLock::new();
    LIVE.get_or_init(|| {
        let limit = std::env::var("OMS_TEST_LIMIT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(TEST_LIMIT, Duration::from_secs);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let live = live_tests().lock().unwrap_or_else(|e| e.into_inner());
            if let Some((test, since)) = live.values().find(|(_, since)| since.elapsed() > limit) {
                // libtest names a test's thread after it (`main` when it runs one test).
                // Written straight to the stream: `eprintln!` in a thread spawned by a test
                // goes to that test's captured output, which an exit never shows.
                let message = format!(
                    "test `{test}` has held its database for {:?}, over its limit of {limit:?}: it hangs; failing the test binary\n",
                    since.elapsed()
                );
                let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
                std::process::exit(101);
            }
        });
        Mutex::new(HashMap::new())
    })
}

/// A fresh database for one test.
#[derive(Debug)]
pub struct TestDatabase {
    pub pool: PgPool,
    pub options: PgConnectOptions,
    pub name: String,
    /// A URL for this database, to hand to `oms` as `DATABASE_URL`.
    pub url: String,
}

impl TestDatabase {
    /// A new database with every migration applied.
    pub async fn new() -> Self {
        let db = Self::empty().await;
        crate::migrate(&db.pool)
            .await
            .expect("migrating the test database");
        db
    }

    /// A new database with nothing in it.
    pub async fn empty() -> Self {
        let (server, base_url) = server();
        let server = server.clone();
        let name = format!("oms_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect_admin(&server).await;
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .expect("creating the test database");
        let _ = admin.close().await;
        let options = server.database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(crate::session_limits(options.clone()))
            .await
            .expect("connecting to the test database");
        let url = url_with_database(base_url, &name);
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        live_tests()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.clone(), (test, Instant::now()));
        Self {
            pool,
            options,
            name,
            url,
        }
    }

    /// A pool of its own on this database, of at most `max_connections`.
    pub async fn pool_of(&self, max_connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(self.options.clone())
            .await
            .expect("a pool on the test database")
    }

    /// An event log on this database.
    pub fn log(&self) -> EventLog {
        EventLog::new(self.pool.clone())
    }

    /// An event log for request paths (commands, GraphQL): a pool of its own with the
    /// statement and lock timeouts `oms serve` gives them ([`crate::request_limits`]).
    pub fn request_log(&self) -> EventLog {
        let pool = crate::pool_options()
            .max_connections(20)
            .connect_lazy_with(crate::request_limits(self.options.clone()));
        EventLog::new(pool)
    }
}

/// A connection to the test server. Its socket refuses connections for a moment
/// (`EAGAIN`) while its backlog is full, as when many tests start at once on two cores:
/// that is tried again, for up to 10 s.
async fn connect_admin(server: &PgConnectOptions) -> sqlx::PgConnection {
    let started = Instant::now();
    loop {
        match sqlx::PgConnection::connect_with(server).await {
            Ok(connection) => return connection,
            Err(sqlx::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock
                    && started.elapsed() < Duration::from_secs(10) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("connecting to the test PostgreSQL server: {e:?}"),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        live_tests()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.name);
    }
}

/// The server every test of this process uses: its connection options and URL.
pub fn server() -> &'static (PgConnectOptions, String) {
    static SERVER: OnceLock<(PgConnectOptions, String)> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) => (
            url.parse().expect("DATABASE_URL is not a PostgreSQL URL"),
            url,
        ),
        Err(_) => start_embedded(),
    })
}

/// `url` with its database (the path) replaced by `database`; the query is kept.
fn url_with_database(url: &str, database: &str) -> String {
    let (main, query) = url
        .split_once('?')
        .map_or((url, None), |(m, q)| (m, Some(q)));
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let authority_end = main[authority_start..]
        .find('/')
        .map_or(main.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &main[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A private embedded server in a new temporary folder the server's OS user can reach:
/// for tests and benchmarks that stop and start their own server or need full durability.
/// Blocking; the folder goes when the `TempDir` is dropped (stop the server first).
pub fn private_server(durability: Durability) -> (tempfile::TempDir, EmbeddedPostgres) {
    let dir = tempfile::Builder::new()
        .prefix("oms-test-pg-")
        .tempdir()
        .expect("creating a folder for a test PostgreSQL");
    // Temp folders are 0700; the server's user (postgres, when we are root) must enter it.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("opening the test PostgreSQL folder");
    let server = EmbeddedPostgres::start(dir.path(), durability)
        .unwrap_or_else(|e| panic!("starting a test PostgreSQL: {e}"));
    (dir, server)
}

fn start_embedded() -> (PgConnectOptions, String) {
    let (dir, server) = private_server(Durability::Off);
    // The watchdog, running as the server's user, removes the folder after we exit.
    let root = dir.keep();
    give_to_server_user(&root).expect("handing the test folder to the postgres user");
    spawn_watchdog(&server, &root);
    (
        server.connect_options("postgres"),
        server.display_url("postgres"),
    )
}

/// Stops the server and removes its folder when this process is gone.
// The watchdog must outlive this process, so it is deliberately never waited for.
#[allow(clippy::zombie_processes)]
fn spawn_watchdog(server: &EmbeddedPostgres, root: &std::path::Path) {
    let (pg_ctl, args) = server.stop_command();
    let script = format!(
        "while [ -e /proc/{pid} ]; do sleep 1; done; '{pg_ctl}' {args} >/dev/null 2>&1; rm -rf '{root}'",
        pid = std::process::id(),
        pg_ctl = pg_ctl.display(),
        args = args.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" "),
        root = root.display(),
    );
    server
        .command_as_server_user("sh")
        .arg("-c")
        .arg(script)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the test PostgreSQL watchdog");
}

/// Every event committed so far, in log order: reads until the log is exhausted and no open
/// transaction (in any database of the cluster: other tests) holds the reader back.
pub async fn read_all(log: &EventLog) -> Vec<crate::RecordedEvent> {
    let mut events = Vec::new();
    let mut after = crate::LogPosition::START;
    loop {
        let batch = log
            .read_committed_after(
                after,
                1_000,
                &crate::LogFilter::default(),
                Duration::from_secs(60),
            )
            .await
            .expect("reading the log");
        assert!(
            !batch.held_back || !batch.events.is_empty(),
            "held back for a minute by an open transaction"
        );
        if batch.events.is_empty() {
            return events;
        }
        after = batch.next;
        events.extend(batch.events);
    }
}

#[cfg(test)]
mod tests {
    use super::url_with_database;

    #[test]
    fn replaces_only_the_database_of_a_url() {
        assert_eq!(
            url_with_database("postgres://u:p@h:5/db?sslmode=disable", "x"),
            "postgres://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(url_with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            url_with_database("postgresql:///postgres?host=/tmp/s&user=p", "x"),
            "postgresql:///x?host=/tmp/s&user=p"
        );
    }
}
