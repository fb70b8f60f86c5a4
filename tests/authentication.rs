//! `oms serve` and `oms token` with authentication: the start-up refusals, and the whole
//! flow of the README with `OMS_AUTH=jwt` (a customer registers, adds an address,
//! orders, pays and reads its own orders; staff define products and dispatch), CORS
//! included.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{data_dir, http, oms, Server};

const SECRET: &str = "a-development-secret-of-32-bytes!";

/// `oms serve` with these settings, expected to refuse to start: its stderr.
fn refused(env: &[(&str, &str)], addr: &str) -> String {
    let dir = data_dir();
    let mut command = oms(dir.path());
    command
        .envs(env.iter().copied())
        .args(["serve", "--http-addr", addr]);
    let output = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("running oms");
    assert!(!output.status.success(), "oms serve must refuse to start");
    assert!(
        !dir.path().join("pg").exists(),
        "refused before starting a database"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn serve_refuses_a_public_address_without_auth_and_missing_or_ambiguous_keys() {
    let stderr = refused(&[], "0.0.0.0:0");
    assert!(
        stderr.contains("OMS_AUTH=jwt") && stderr.contains("OMS_AUTH=off"),
        "{stderr}"
    );
    let stderr = refused(&[("OMS_AUTH", "jwt")], "127.0.0.1:0");
    assert!(stderr.contains("needs a key"), "{stderr}");
    let stderr = refused(
        &[
            ("OMS_AUTH", "jwt"),
            ("OMS_JWT_SECRET", SECRET),
            ("OMS_JWKS_URL", "https://id.example/jwks"),
        ],
        "127.0.0.1:0",
    );
    assert!(stderr.contains("exactly one"), "{stderr}");
    let stderr = refused(
        &[("OMS_AUTH", "jwt"), ("OMS_JWT_SECRET", "short")],
        "127.0.0.1:0",
    );
    assert!(stderr.contains("32 bytes"), "{stderr}");
    let stderr = refused(&[("OMS_AUTH", "maybe")], "127.0.0.1:0");
    assert!(stderr.contains("`off` or `jwt`"), "{stderr}");
}

/// `oms token …` signed with [`SECRET`].
fn token(args: &[&str]) -> String {
    let dir = data_dir();
    let output = oms(dir.path())
        .env("OMS_JWT_SECRET", SECRET)
        .arg("token")
        .args(args)
        .output()
        .expect("running oms token");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    token
}

struct Client {
    server: Server,
}

impl Client {
    fn send(&self, method: &str, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("Authorization", bearer));
        }
        let (status, _, text) = http(self.server.addr, method, path, &headers, &body.to_string());
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    #[track_caller]
    fn ok(&self, path: &str, token: &str, body: &Value) -> Value {
        let (status, body) = self.send("POST", path, Some(token), body);
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    fn graphql(&self, token: &str, query: &str) -> Value {
        self.send("POST", "/graphql", Some(token), &json!({"query": query}))
            .1
    }

    /// Waits until `token` reads `order` with `status`.
    fn until(&self, token: &str, order: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let response =
                self.graphql(token, &format!("{{ order(id: \"{order}\") {{ status }} }}"));
            if response["data"]["order"]["status"] == status {
                return;
            }
            assert!(Instant::now() < deadline, "never {status}: {response}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn the_readme_flow_with_jwt() {
    let dir = data_dir();
    let mut command = oms(dir.path());
    command
        .env("OMS_AUTH", "jwt")
        .env("OMS_JWT_SECRET", SECRET)
        .env("OMS_ALLOWED_ORIGINS", "https://shop.example");
    let client = Client {
        server: Server::start(command),
    };
    let alice = token(&["--role", "customer", "--sub", "alice"]);
    let bob = token(&["--role", "customer", "--sub", "bob", "--ttl", "10m"]);
    let staff = token(&["--role", "staff"]);

    // The ops routes stay open; commands and GraphQL need a token.
    assert_eq!(client.server.get_status("/healthz"), 200);
    assert_eq!(client.server.get_status("/openapi.json"), 200);
    let (status, _) = client.send("POST", "/products", None, &json!({}));
    assert_eq!(status, 401);

    client.ok(
        "/products",
        &staff,
        &json!({"sku": "TEA", "name": "Tea", "price": {"amount": "4.50", "currency": "EUR"}, "stock": 10}),
    );
    let me = client.ok(
        "/customers",
        &alice,
        &json!({"name": "Alice", "email": "alice@example.com"}),
    );
    let customer = me["id"].as_str().expect("id").to_owned();
    let address = client.ok(
        &format!("/customers/{customer}/addresses"),
        &alice,
        &json!({"line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
    )["address_id"]
        .as_str()
        .expect("address id")
        .to_owned();
    let order = client.ok(
        "/orders",
        &alice,
        &json!({"customer_id": customer, "shipping_address_id": address, "lines": [{"sku": "TEA", "quantity": 2}]}),
    )["id"]
        .as_str()
        .expect("order id")
        .to_owned();
    client.until(&alice, &order, "CONFIRMED");
    client.ok(
        &format!("/orders/{order}/pay"),
        &alice,
        &json!({"amount": {"amount": "9.00", "currency": "EUR"}, "method": "card", "reference": "psp-1"}),
    );
    // Alice's own orders, with the shipment the payment created.
    let shipment = loop {
        let response = client.graphql(
            &alice,
            "{ orders { totalCount edges { node { id shipment { id } } } } }",
        );
        assert_eq!(response["data"]["orders"]["totalCount"], 1, "{response}");
        if let Some(id) = response["data"]["orders"]["edges"][0]["node"]["shipment"]["id"].as_str()
        {
            break id.to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Alice may not dispatch; staff may.
    let (status, _) = client.send(
        "POST",
        &format!("/shipments/{shipment}/dispatch"),
        Some(&alice),
        &json!({"carrier": "DHL", "tracking_number": "T-1"}),
    );
    assert_eq!(status, 403);
    client.ok(
        &format!("/shipments/{shipment}/dispatch"),
        &staff,
        &json!({"carrier": "DHL", "tracking_number": "T-1"}),
    );
    client.until(&alice, &order, "SHIPPED");
    // Bob sees none of it.
    let response = client.graphql(
        &bob,
        &format!("{{ orders {{ totalCount }} order(id: \"{order}\") {{ id }} }}"),
    );
    assert_eq!(response["data"]["orders"]["totalCount"], 0, "{response}");
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{response}"
    );

    // CORS: the allowed origin's preflight is answered; another origin is refused.
    let preflight = |origin: &str| {
        http(
            client.server.addr,
            "OPTIONS",
            "/orders",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization, content-type, idempotency-key",
                ),
            ],
            "",
        )
    };
    let (status, head, _) = preflight("https://shop.example");
    let head = head.to_ascii_lowercase();
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("access-control-allow-origin: https://shop.example"),
        "{head}"
    );
    assert!(head.contains("authorization"), "{head}");
    let (status, _, _) = preflight("https://evil.example");
    assert_eq!(status, 403);
    let (status, head, _) = http(
        client.server.addr,
        "POST",
        "/graphql",
        &[
            ("Origin", "https://shop.example"),
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {staff}")),
        ],
        &json!({"query": "{ products { totalCount } }"}).to_string(),
    );
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("access-control-allow-origin: https://shop.example"),
        "{head}"
    );
    let (status, _, _) = http(
        client.server.addr,
        "POST",
        "/graphql",
        &[
            ("Origin", "https://evil.example"),
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {staff}")),
        ],
        &json!({"query": "{ products { totalCount } }"}).to_string(),
    );
    assert_eq!(status, 403);
}

#[test]
fn oms_token_needs_a_signing_key() {
    let dir = data_dir();
    let output = oms(dir.path())
        .args(["token", "--role", "admin"])
        .output()
        .expect("running oms token");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("OMS_JWT_SECRET"));
}
