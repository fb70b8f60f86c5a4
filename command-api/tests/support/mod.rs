//! Driving the command router in-process against a fresh database.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use command_api::{router, AppState};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework};
use domain::clock::{SharedClock, SystemClock};
use event_store::testing::TestDatabase;
use event_store::PgEventRepository;
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct Api {
    pub db: TestDatabase,
    pub router: Router,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The problem slug of an error reply.
    #[track_caller]
    pub fn slug(&self) -> &str {
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "an error is problem+json: {self:?}"
        );
        self.body["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("/problems/"))
            .expect("a problem type")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        self
    }

    #[track_caller]
    pub fn expect_problem(self, status: u16, slug: &str) -> Self {
        assert_eq!(
            (self.status.as_u16(), self.slug()),
            (status, slug),
            "{:?}",
            self.body
        );
        self
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().expect("id").to_owned()
    }
}

impl Api {
    pub async fn new() -> Self {
        Self::with(auth::Authenticator::Off).await
    }

    /// With authentication on: the tokens of `auth::testing`.
    pub async fn authenticated() -> Self {
        Self::with(auth::testing::authenticator()).await
    }

    async fn with(auth: auth::Authenticator) -> Self {
        let db = TestDatabase::new().await;
        let clock: SharedClock = Arc::new(SystemClock);
        let router = router(AppState::new(db.request_log(), clock).authenticated_by(auth));
        Self { db, router }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.post_with(path, body, &[]).await
    }

    pub async fn post_with(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::post(path).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    pub async fn customer(&self, name: &str, email: &str) -> String {
        self.post("/customers", json!({"name": name, "email": email}))
            .await
            .expect(201)
            .id()
    }

    pub async fn address(&self, customer: &str) -> String {
        let reply = self
            .post(
                &format!("/customers/{customer}/addresses"),
                json!({"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
            )
            .await
            .expect(201);
        reply.body["address_id"]
            .as_str()
            .expect("address_id")
            .to_owned()
    }

    pub async fn product(&self, sku: &str, price: &str, currency: &str, stock: i64) {
        self.post("/products", json!({"sku": sku, "name": format!("Product {sku}"), "price": {"amount": price, "currency": currency}, "stock": stock}))
            .await
            .expect(201);
    }

    /// A customer with an address, and the body of an order of `lines` for them.
    pub async fn order_body(&self, lines: Value) -> Value {
        let customer = self
            .customer(
                "Ada",
                &format!("{}@example.com", uuid::Uuid::new_v4().simple()),
            )
            .await;
        let address = self.address(&customer).await;
        json!({"customer_id": customer, "shipping_address_id": address, "lines": lines})
    }

    /// Runs a command directly through cqrs-es on the same log, as the fulfilment process
    /// will (it has no HTTP route).
    pub async fn run<A>(&self, id: &str, command: A::Command, services: A::Services)
    where
        A: Aggregate + 'static,
        A::Error: std::fmt::Debug,
    {
        let store =
            PersistedEventStore::<_, A>::new_event_store(PgEventRepository::new(self.db.log()))
                .with_upcasters(domain::events::upcasters());
        CqrsFramework::new(store, vec![], services)
            .execute(id, command)
            .await
            .expect("command through cqrs-es");
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.db.pool)
            .await
            .expect("count")
    }

    /// The payloads of an aggregate's events, in order.
    pub async fn payloads(&self, aggregate_id: &str) -> Vec<Value> {
        sqlx::query_scalar("SELECT payload FROM events WHERE aggregate_id = $1 ORDER BY sequence")
            .bind(aggregate_id)
            .fetch_all(&self.db.pool)
            .await
            .expect("payloads")
    }

    /// How many of `aggregate_id`'s events are of `event_type`.
    pub async fn count_of(&self, aggregate_id: &str, event_type: &str) -> usize {
        self.payloads(aggregate_id)
            .await
            .iter()
            .filter(|p| p.get(event_type).is_some())
            .count()
    }
}
