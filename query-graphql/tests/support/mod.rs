//! The platform in-process against a fresh database: the command API and GraphQL on one
//! router, the read models and order fulfilment running beside them.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use domain::clock::{SharedClock, SystemClock};
use event_store::testing::TestDatabase;
use event_store::EventLog;
use projections::runtime::{Running, Runtime, RuntimeOptions};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A socket to `url` speaking graphql-transport-ws (nothing sent yet).
pub async fn open_socket(url: &str) -> Socket {
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    socket
}

pub struct Platform {
    pub db: TestDatabase,
    pub log: EventLog,
    pub app: Router,
    projectors: Option<Running>,
    /// The token the helpers send when authentication is on (an admin's).
    bearer: Option<String>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// The `extensions.code` of every error of a GraphQL response.
pub fn codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The read models and order fulfilment, running until stopped.
pub fn projectors(log: &EventLog) -> Running {
    let clock: SharedClock = Arc::new(SystemClock);
    let options = RuntimeOptions {
        standby_poll: Duration::from_millis(100),
        ..RuntimeOptions::default()
    };
    Runtime::new(log.clone(), projections::all(log.clone(), clock), options).spawn()
}

impl Platform {
    /// Everything running.
    pub async fn start() -> Self {
        let mut platform = Self::without_projectors().await;
        platform.start_projectors();
        platform
    }

    /// The routes only: nothing projects until [`Platform::start_projectors`].
    pub async fn without_projectors() -> Self {
        Self::routes(auth::Authenticator::Off, None).await
    }

    /// Everything running, with authentication on (the tokens of `auth::testing`); the
    /// helpers act as admin.
    pub async fn start_authenticated() -> Self {
        let admin = auth::testing::token(auth::Role::Admin, None);
        let mut platform = Self::routes(auth::testing::authenticator(), Some(admin)).await;
        platform.start_projectors();
        platform
    }

    async fn routes(auth: auth::Authenticator, bearer: Option<String>) -> Self {
        let db = TestDatabase::new().await;
        let log = db.log();
        let clock: SharedClock = Arc::new(SystemClock);
        let state = command_api::AppState::new(log.clone(), clock).authenticated_by(auth.clone());
        let options = query_graphql::Options {
            auth,
            ..query_graphql::Options::default()
        };
        let app =
            command_api::router(state).merge(query_graphql::router_with(log.clone(), options));
        Self {
            db,
            log,
            app,
            projectors: None,
            bearer,
        }
    }

    /// Serves the platform's routes on a loopback port: the `/graphql/ws` URL.
    pub async fn listen(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = self.app.clone();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("ws://{addr}/graphql/ws")
    }

    pub fn start_projectors(&mut self) {
        assert!(self.projectors.is_none(), "already running");
        self.projectors = Some(projectors(&self.log));
    }

    pub async fn stop_projectors(&mut self) {
        self.projectors.take().expect("running").stop().await;
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A command that must succeed; its reply body.
    pub async fn command(&self, path: &str, body: Value) -> Value {
        let reply = self.command_as(self.bearer.as_deref(), path, body).await;
        assert!(reply.status.is_success(), "{path}: {reply:?}");
        reply.json()
    }

    /// A command with `token` (none: without `Authorization`).
    pub async fn command_as(&self, token: Option<&str>, path: &str, body: Value) -> Reply {
        let mut request = Request::post(path).header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    /// A GraphQL POST with `token` (none: without `Authorization`); the reply, whatever
    /// its status.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        self.send(
            request
                .body(Body::from(
                    json!({"query": query, "variables": variables}).to_string(),
                ))
                .expect("request"),
        )
        .await
    }

    /// A GraphQL POST; the response body (status 200 asserted).
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_with(query, variables, &[]).await
    }

    /// A GraphQL POST that waits for `position` (read-your-writes).
    pub async fn gql_at(&self, position: i64, query: &str, variables: Value) -> Value {
        self.gql_with(
            query,
            variables,
            &[("oms-min-position", position.to_string())],
        )
        .await
    }

    pub async fn gql_with(
        &self,
        query: &str,
        variables: Value,
        headers: &[(&str, String)],
    ) -> Value {
        let mut request = Request::post("/graphql").header("content-type", "application/json");
        if let Some(token) = &self.bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let reply = self
            .send(
                request
                    .body(Body::from(
                        json!({"query": query, "variables": variables}).to_string(),
                    ))
                    .expect("request"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.json()
    }

    /// A customer with one address: (customer id, address id, position).
    pub async fn customer(&self, name: &str, email: &str) -> (String, String, i64) {
        let customer = self
            .command("/customers", json!({"name": name, "email": email}))
            .await;
        let id = customer["id"].as_str().expect("id").to_owned();
        let address = self
            .command(
                &format!("/customers/{id}/addresses"),
                json!({"label": "home", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
            )
            .await;
        (
            id,
            address["address_id"]
                .as_str()
                .expect("address id")
                .to_owned(),
            address["position"].as_i64().expect("position"),
        )
    }

    /// A product; the position of its definition.
    pub async fn product(&self, sku: &str, name: &str, price: &str, stock: i64) -> i64 {
        self.command(
            "/products",
            json!({"sku": sku, "name": name, "price": {"amount": price, "currency": "EUR"}, "stock": stock}),
        )
        .await["position"]
            .as_i64()
            .expect("position")
    }

    /// An order: (order id, position).
    pub async fn order(
        &self,
        customer: &(String, String, i64),
        lines: &[(&str, i64)],
    ) -> (String, i64) {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
            .collect();
        let order = self
            .command(
                "/orders",
                json!({"customer_id": customer.0, "shipping_address_id": customer.1, "lines": lines}),
            )
            .await;
        (
            order["id"].as_str().expect("id").to_owned(),
            order["position"].as_i64().expect("position"),
        )
    }

    /// Waits until GraphQL shows `order` in `status`.
    pub async fn until_status(&self, order: &str, status: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let response = self
                .gql(
                    "query($id: ID!) { order(id: $id) { status } }",
                    json!({"id": order}),
                )
                .await;
            if response["data"]["order"]["status"] == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "order {order} never {status}: {response}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
