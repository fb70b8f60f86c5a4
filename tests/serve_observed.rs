//! A real `oms serve` as an operator sees it: `oms healthcheck` follows its readiness,
//! and each request writes one access-log line with its id and trace.

mod support;

use std::time::{Duration, Instant};

use event_store::testing::TestDatabase;
use support::{data_dir, http, oms, Server};

fn healthcheck(addr: std::net::SocketAddr) -> std::process::Output {
    oms(&std::env::temp_dir())
        .args(["healthcheck", "--http-addr", &addr.to_string()])
        .output()
        .expect("oms healthcheck")
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_follows_readiness_and_each_request_logs_one_line() {
    let db = TestDatabase::new().await;
    let dir = data_dir();
    let mut command = oms(dir.path());
    command.env("DATABASE_URL", &db.url);
    let server = Server::start(command);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !healthcheck(server.addr).status.success() {
        assert!(Instant::now() < deadline, "never healthy");
        std::thread::sleep(Duration::from_millis(100));
    }

    let body =
        r#"{"sku":"LOG-1","name":"Lamp","price":{"amount":"9.90","currency":"EUR"},"stock":1}"#;
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (status, head, _) = http(
        server.addr,
        "POST",
        "/products",
        &[
            ("content-type", "application/json"),
            ("x-request-id", "req-77"),
            ("traceparent", trace),
        ],
        body,
    );
    assert_eq!(status, 201);
    assert!(
        head.to_lowercase().contains("x-request-id: req-77"),
        "{head}"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let access = loop {
        let line = server
            .log
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("no access-log line for the request");
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["target"] == "oms::access" && entry["fields"]["path"] == "/products" {
            break entry;
        }
    };
    let fields = &access["fields"];
    assert_eq!(
        (&fields["method"], &fields["route"], &fields["status"]),
        (&"POST".into(), &"/products".into(), &201.into()),
        "{access}"
    );
    assert!(fields["duration_ms"].as_f64().is_some(), "{access}");
    let span = &access["spans"][0];
    assert_eq!(span["request_id"], "req-77", "{access}");
    assert_eq!(
        span["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
        "{access}"
    );

    let addr = server.addr;
    drop(server);
    let down = healthcheck(addr);
    assert!(!down.status.success());
    assert!(
        String::from_utf8_lossy(&down.stderr).contains("did not answer"),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
}
