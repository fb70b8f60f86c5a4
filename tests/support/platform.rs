//! The command API and the projector runtime in this process, on a fresh database: for
//! tests that drive orders through their whole life and crash the runtime at will.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use domain::clock::{SharedClock, SystemClock};
use event_store::testing::TestDatabase;
use event_store::{AggregateStore, EventLog};
use projections::runtime::{Running, Runtime, RuntimeOptions};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use tower::ServiceExt;

pub struct Platform {
    pub db: TestDatabase,
    pub router: Router,
    pub clock: SharedClock,
    pub store: AggregateStore,
}

/// A projector runtime with a pool of its own, so that killing it closes its connections
/// as the death of its process would.
pub struct Projectors {
    running: Running,
    log: EventLog,
}

impl Projectors {
    /// Kills it mid-flight: whatever batch was open is never committed.
    pub async fn kill(self) {
        self.running.kill().await;
        self.log.pool().close().await;
    }

    /// Stops it cleanly.
    pub async fn stop(self) {
        self.running.stop().await;
        self.log.pool().close().await;
    }
}

impl Platform {
    pub async fn new() -> Self {
        let db = TestDatabase::new().await;
        let clock: SharedClock = Arc::new(SystemClock);
        let router =
            command_api::router(command_api::AppState::new(db.request_log(), clock.clone()));
        let store = AggregateStore::new(
            db.log(),
            domain::events::upcasters(),
            domain::events::SNAPSHOTS,
        );
        Self {
            db,
            router,
            clock,
            store,
        }
    }

    /// Every read model and the order-fulfillment manager, as `oms serve` runs them.
    pub async fn projectors(&self) -> Projectors {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(self.db.options.clone())
            .await
            .expect("projector pool");
        let log = EventLog::new(pool);
        let options = RuntimeOptions {
            standby_poll: Duration::from_millis(50),
            ..RuntimeOptions::default()
        };
        let runtime = Runtime::new(
            log.clone(),
            projections::all(log.clone(), self.clock.clone()),
            options,
        );
        Projectors {
            running: runtime.spawn(),
            log,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, reply) = self.post(path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {reply}");
        reply
    }

    pub async fn product(&self, sku: &str, stock: i64) {
        self.ok(
            "/products",
            json!({"sku": sku, "name": format!("Product {sku}"), "price": {"amount": "10.00", "currency": "EUR"}, "stock": stock}),
        )
        .await;
    }

    /// A customer with an address: (customer id, address id).
    pub async fn customer(&self) -> (String, String) {
        let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
        let customer = self
            .ok("/customers", json!({"name": "Ada", "email": email}))
            .await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let address = self
            .ok(
                &format!("/customers/{customer}/addresses"),
                json!({"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
            )
            .await["address_id"]
            .as_str()
            .expect("address_id")
            .to_owned();
        (customer, address)
    }

    /// Places an order of `lines` (sku, quantity); its id.
    pub async fn place(
        &self,
        (customer, address): &(String, String),
        lines: &[(&str, u32)],
    ) -> String {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
            .collect();
        self.ok(
            "/orders",
            json!({"customer_id": customer, "shipping_address_id": address, "lines": lines}),
        )
        .await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// Pays a confirmed order its total.
    pub async fn pay(&self, order: &str) -> (u16, Value) {
        let total = self
            .load::<domain::Order>(order)
            .await
            .total()
            .expect("a placed order");
        let body = json!({"amount": {"amount": total.amount(), "currency": total.currency().as_str()}, "method": "card", "reference": format!("psp-{order}")});
        self.post(&format!("/orders/{order}/pay"), body).await
    }

    /// The aggregate as commands load it (snapshot and the events after it).
    pub async fn load<A: cqrs_es::Aggregate + DeserializeOwned>(&self, id: &str) -> A {
        self.store.load::<A>(id).await.expect("load").aggregate
    }

    /// Waits until `ready` holds for the aggregate, for at most 60 s.
    pub async fn until<A, F>(&self, id: &str, what: &str, ready: F) -> A
    where
        A: cqrs_es::Aggregate + DeserializeOwned + std::fmt::Debug,
        F: Fn(&A) -> bool,
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let aggregate = self.load::<A>(id).await;
            if ready(&aggregate) {
                return aggregate;
            }
            assert!(
                Instant::now() < deadline,
                "{id} never {what}: {aggregate:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the manager and every read model have processed the whole log.
    pub async fn settled(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let names = projections::names();
        loop {
            let all = projections::status::status(&self.db.log(), &names)
                .await
                .expect("status");
            assert!(all.iter().all(|s| s.state != "FAILED"), "{all:?}");
            if all.iter().all(|s| s.lag == 0) {
                return;
            }
            assert!(Instant::now() < deadline, "never settled: {all:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
