//! schemathesis (PyPI) against `/openapi.json` of a live `oms serve` with authentication
//! on: every phase (examples, coverage, fuzzing, stateful links) finds no failure, and
//! every command route answers a generated request with a 2xx.
//!
//! Routes whose aggregates no other route's answer names (an order to pay or cancel is
//! placed from a customer's address and a product; a shipment comes from
//! order-fulfillment) get their ids from data prepared here, through the API, in the
//! state the route needs; the schema's examples are consistent with it (two of MUG-001 at
//! 12.50 cost the 25.00 the payment example pays). Without schemathesis
//! (scripts/install-test-tools installs it) the test says so and passes.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use event_store::testing::TestDatabase;
use serde_json::{json, Value};
use support::{data_dir, http, oms, Server};

const SECRET: &str = "conformance-secret-0123456789abcdef";

struct Api {
    addr: SocketAddr,
    token: String,
}

impl Api {
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let bearer = format!("Bearer {}", self.token);
        let (status, _, body) = http(
            self.addr,
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("authorization", &bearer),
            ],
            &body.to_string(),
        );
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    fn ok(&self, path: &str, body: &Value) -> Value {
        let (status, answer) = self.post(path, body);
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
        answer
    }

    /// Retries `path` until it succeeds (order-fulfillment decides asynchronously).
    fn eventually(&self, path: &str, body: &Value) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, answer) = self.post(path, body);
            if (200..300).contains(&status) {
                return;
            }
            assert!(Instant::now() < deadline, "{path}: {status} {answer}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn status(&self, root: &str) -> String {
        let bearer = format!("Bearer {}", self.token);
        let query = json!({"query": format!("{{ item: {root} {{ status }} }}")});
        let (_, _, body) = http(
            self.addr,
            "POST",
            "/graphql",
            &[
                ("content-type", "application/json"),
                ("authorization", &bearer),
            ],
            &query.to_string(),
        );
        let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        answer["data"]["item"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn until_status(&self, order: &str, status: &str) {
        self.until(&format!("order(id: \"{order}\")"), status);
    }

    fn until_shipment(&self, shipment: &str, status: &str) {
        self.until(&format!("shipment(id: \"{shipment}\")"), status);
    }

    /// Waits until GraphQL's `{ <root> { status } }` is `status`.
    fn until(&self, root: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.status(root) != status {
            assert!(Instant::now() < deadline, "{root} never {status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn shipment_of(order: &str) -> String {
    domain::values::ShipmentId::for_order(order.parse().expect("order id")).to_string()
}

#[test]
fn schemathesis_finds_no_failure_and_reaches_every_operation() {
    if Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "skipped: no schemathesis on PATH (scripts/install-test-tools installs it from PyPI)"
        );
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let db = runtime.block_on(TestDatabase::new());
    let dir = data_dir();
    let mut command = oms(dir.path());
    command
        .env("DATABASE_URL", &db.url)
        .env("OMS_AUTH", "jwt")
        .env("OMS_JWT_SECRET", SECRET);
    let server = Server::start(command);
    let token = oms(dir.path())
        .env("OMS_JWT_SECRET", SECRET)
        .args(["token", "--role", "admin", "--ttl", "1h"])
        .output()
        .expect("oms token");
    let api = Api {
        addr: server.addr,
        token: String::from_utf8(token.stdout)
            .expect("token")
            .trim()
            .to_owned(),
    };

    // The schema's examples, made true: MUG-001 at 12.50, and orders of two of it.
    api.ok(
        "/products",
        &json!({"sku": "MUG-001", "name": "Coffee Mug", "price": {"amount": "12.50", "currency": "EUR"}, "stock": 1000}),
    );
    let customer = api.ok(
        "/customers",
        &json!({"name": "Grace Hopper", "email": "grace@example.com"}),
    );
    let customer = customer["id"].as_str().expect("id").to_owned();
    let address = api.ok(
        &format!("/customers/{customer}/addresses"),
        &json!({"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
    );
    let address = address["address_id"].as_str().expect("address").to_owned();
    let place = || {
        let order = api.ok(
            "/orders",
            &json!({"customer_id": customer, "shipping_address_id": address, "lines": [{"sku": "MUG-001", "quantity": 2}]}),
        );
        order["id"].as_str().expect("id").to_owned()
    };
    let payment = json!({"amount": {"amount": "25.00", "currency": "EUR"}, "method": "card", "reference": "psp-1"});
    let dispatch = json!({"carrier": "DHL", "tracking_number": "JJD1"});
    let (to_pay, to_cancel, to_dispatch, to_deliver) = (place(), place(), place(), place());
    for order in [&to_pay, &to_cancel] {
        api.until_status(order, "CONFIRMED");
    }
    for order in [&to_dispatch, &to_deliver] {
        api.eventually(&format!("/orders/{order}/pay"), &payment);
    }
    api.until_shipment(&shipment_of(&to_dispatch), "PENDING");
    api.eventually(
        &format!("/shipments/{}/dispatch", shipment_of(&to_deliver)),
        &dispatch,
    );

    let config = format!(
        r#"{base}
[[operations]]
include-name = "POST /orders"
parameters = {{ "body.customer_id" = "{customer}", "body.shipping_address_id" = "{address}" }}

[[operations]]
include-name = "POST /orders/{{id}}/pay"
parameters = {{ id = "{to_pay}" }}

[[operations]]
include-name = "POST /orders/{{id}}/cancel"
parameters = {{ id = "{to_cancel}" }}

[[operations]]
include-name = "POST /shipments/{{id}}/dispatch"
parameters = {{ id = "{dispatch_id}" }}

[[operations]]
include-name = "POST /shipments/{{id}}/deliver"
parameters = {{ id = "{deliver_id}" }}
"#,
        base = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/schemathesis/schemathesis.toml"
        ))
        .expect("config"),
        dispatch_id = shipment_of(&to_dispatch),
        deliver_id = shipment_of(&to_deliver),
    );
    let work = tempfile::tempdir().expect("work dir");
    let config_path = work.path().join("schemathesis.toml");
    std::fs::write(&config_path, config).expect("config");
    let har = work.path().join("run.har");
    let output = Command::new("schemathesis")
        .current_dir(work.path())
        .arg("--config-file")
        .arg(&config_path)
        .arg("run")
        .arg(format!("http://{}/openapi.json", server.addr))
        .args(["--header", &format!("Authorization: Bearer {}", api.token)])
        .args(["--report", "har", "--report-har-path"])
        .arg(&har)
        .args(["--seed", "1"])
        .output()
        .expect("schemathesis");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}"
    );

    // Every command route answered some generated request with a 2xx.
    let har: Value =
        serde_json::from_str(&std::fs::read_to_string(&har).expect("har")).expect("har json");
    let mut succeeded: BTreeMap<String, usize> = BTreeMap::new();
    for entry in har["log"]["entries"].as_array().expect("entries") {
        if entry["request"]["method"] != "POST" {
            continue;
        }
        let status = entry["response"]["status"].as_u64().unwrap_or(0);
        if (200..300).contains(&status) {
            let url = entry["request"]["url"].as_str().unwrap_or_default();
            let path = url.splitn(4, '/').nth(3).unwrap_or_default();
            let mut parts: Vec<&str> = path.split('/').collect();
            if parts.len() > 1 {
                parts[1] = "{id}";
            }
            *succeeded
                .entry(format!("/{}", parts.join("/")))
                .or_default() += 1;
        }
    }
    let expected: BTreeSet<&str> = [
        "/customers",
        "/customers/{id}/rename",
        "/customers/{id}/change-email",
        "/customers/{id}/addresses",
        "/products",
        "/products/{id}/change-price",
        "/products/{id}/restock",
        "/orders",
        "/orders/{id}/pay",
        "/orders/{id}/cancel",
        "/shipments/{id}/dispatch",
        "/shipments/{id}/deliver",
    ]
    .into_iter()
    .collect();
    let reached: BTreeSet<&str> = succeeded.keys().map(String::as_str).collect();
    assert_eq!(
        expected.difference(&reached).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "operations never answered 2xx ({succeeded:?}); schemathesis said:\n{report}"
    );
}
