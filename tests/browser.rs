//! The browser pages in Debian's headless Chromium, with every host but the server
//! unreachable: GraphiQL renders, runs a query over seeded data and shows the answer;
//! the API reference lists every command route. Nothing is fetched from elsewhere.
//!
//! Chromium is driven over the DevTools protocol. Without Chromium (scripts/test
//! installs it) the tests say so and pass.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use event_store::testing::TestDatabase;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::{data_dir, http_get, oms, Server};
use tokio_tungstenite::tungstenite::Message;

const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a page may take to show what it should.
const PATIENCE: Duration = Duration::from_secs(60);

struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    /// The browser's DevTools WebSocket.
    devtools: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Headless Chromium that can reach `server` only.
    fn start(server: SocketAddr) -> Option<Self> {
        if !std::path::Path::new(CHROMIUM).exists() {
            eprintln!("skipped: no Chromium at {CHROMIUM} (scripts/install-test-tools installs Debian's chromium)");
            return None;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "about:blank",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            // No name resolves and no address but the server's is reachable.
            .arg(format!(
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {}",
                server.ip()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting chromium");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let devtools = rx
            .recv_timeout(PATIENCE)
            .expect("chromium did not open its DevTools port");
        Some(Self {
            child,
            _profile: profile,
            devtools,
        })
    }

    /// A new page, driven through the browser's DevTools connection.
    async fn page(&self) -> Page {
        let (socket, _) = tokio_tungstenite::connect_async(self.devtools.as_str())
            .await
            .expect("DevTools socket");
        let mut page = Page {
            socket,
            session: None,
            next: 0,
            requested: Vec::new(),
        };
        let target = page
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = page
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        page.session = attached["sessionId"].as_str().map(str::to_owned);
        page.call("Network.enable", json!({})).await;
        page.call("Page.enable", json!({})).await;
        page
    }
}

struct Page {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// The page's session on the browser connection (none: the browser itself).
    session: Option<String>,
    next: u64,
    /// Every URL the page requested.
    requested: Vec<String>,
}

impl Page {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        let message = message.to_string();
        self.socket
            .send(Message::text(message))
            .await
            .expect("send");
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("DevTools answers")
                .expect("socket open")
                .expect("message");
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).expect("json");
            if value["method"] == "Network.requestWillBeSent" {
                if let Some(url) = value["params"]["request"]["url"].as_str() {
                    self.requested.push(url.to_owned());
                }
            }
            if value["id"] == id {
                assert!(value["error"].is_null(), "{method}: {value}");
                return value["result"].clone();
            }
        }
    }

    async fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
    }

    /// The value of a JavaScript expression in the page.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is truthy; its value.
    async fn until(&mut self, what: &str, expression: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let value = self.eval(expression).await;
            if !(value.is_null() || value == false || value == "" || value == 0) {
                return value;
            }
            let body = self
                .eval("document.body ? document.body.innerText.slice(0, 500) : ''")
                .await;
            assert!(
                Instant::now() < deadline,
                "the page never showed {what}; it shows: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Everything requested went to `server`.
    fn stayed_on(&self, server: SocketAddr) {
        let own = format!("http://{server}/");
        let own_ws = format!("ws://{server}/");
        let elsewhere: Vec<&String> = self
            .requested
            .iter()
            .filter(|u| !u.starts_with(&own) && !u.starts_with(&own_ws) && !u.starts_with("data:"))
            .collect();
        assert!(
            elsewhere.is_empty(),
            "requests beyond the server: {elsewhere:?}"
        );
        assert!(!self.requested.is_empty());
    }
}

fn serve(db: &TestDatabase, dir: &std::path::Path) -> Server {
    let mut command = oms(dir);
    command.env("DATABASE_URL", &db.url);
    Server::start(command)
}

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_runs_a_query_offline_and_shows_the_answer() {
    let db = TestDatabase::new().await;
    let dir = data_dir();
    let seeded = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .args([
            "seed",
            "--customers",
            "5",
            "--products",
            "5",
            "--orders",
            "20",
        ])
        .output()
        .expect("oms seed");
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let server = serve(&db, dir.path());
    let Some(browser) = Browser::start(server.addr) else {
        return;
    };
    let mut page = browser.page().await;
    page.open(&format!("http://{}/graphql", server.addr)).await;
    page.until(
        "the query editor",
        "!!document.querySelector('.graphiql-query-editor .CodeMirror')",
    )
    .await;
    page.eval(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror
            .setValue('{ orders(first: 3) { totalCount } }')",
    )
    .await;
    page.eval("document.querySelector('.graphiql-execute-button').click()")
        .await;
    let answer = page
        .until(
            "the answer",
            "(() => { const r = document.querySelector('.graphiql-response .CodeMirror');
                      const v = r ? r.CodeMirror.getValue() : '';
                      return v.includes('totalCount') ? v : ''; })()",
        )
        .await;
    let answer: Value = serde_json::from_str(answer.as_str().expect("text")).expect("JSON answer");
    assert_eq!(answer["data"]["orders"]["totalCount"], 20, "{answer}");
    page.stayed_on(server.addr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_reference_lists_every_command_route_offline() {
    let db = TestDatabase::new().await;
    let dir = data_dir();
    let server = serve(&db, dir.path());
    let (_, document) = http_get(server.addr, "/openapi.json");
    let document: Value = serde_json::from_str(&document).expect("openapi.json");
    let mut routes: Vec<String> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    routes.sort();
    assert_eq!(routes.len(), 12, "{routes:?}");

    let Some(browser) = Browser::start(server.addr) else {
        return;
    };
    let mut page = browser.page().await;
    page.open(&format!("http://{}/docs", server.addr)).await;
    let shown = page
        .until(
            "every route",
            "(() => { const paths = [...document.querySelectorAll('.opblock-summary-path')]
                          .map(e => e.getAttribute('data-path'));
                      return paths.length >= 12 ? paths : null; })()",
        )
        .await;
    let mut shown: Vec<String> = serde_json::from_value(shown).expect("paths");
    shown.sort();
    shown.dedup();
    assert_eq!(shown, routes);
    page.stayed_on(server.addr);
}
