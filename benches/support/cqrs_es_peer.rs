//! The command shape built the way cqrs-es and postgres-es would have it, for `orders_load`
//! to run beside OMS: the same domain aggregates behind `POST /orders`, which validates the
//! same input, loads the customer and each named product through a postgres-es event
//! store, and executes `PlaceOrder` through a postgres-es `CqrsFramework`: one transaction
//! per command, as postgres-es commits. Its tables are postgres-es's own (`db/init.sql`),
//! in a database of its own on the benchmark's server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateContext, EventStore};
use domain::clock::{SharedClock, SystemClock};
use domain::customer::CustomerCommand;
use domain::input::{AddAddressInput, DefineProductInput, PlaceOrderInput, RegisterCustomerInput};
use domain::order::PlaceOrder;
use domain::product::ProductCommand;
use domain::values::{AddressId, CustomerId, OrderId};
use domain::{Customer, Order, OrderCommand, Product};
use event_store::embedded::{self, EmbeddedPostgres};
use postgres_es::{postgres_cqrs, PostgresCqrs, PostgresEventRepository};
use serde_json::{json, Value};

const DATABASE: &str = "cqrs_es_peer";

/// postgres-es's schema (its `db/init.sql`), without the view table it has no use for here.
const SCHEMA: &[&str] = &[
    "CREATE TABLE events (
        aggregate_type text NOT NULL, aggregate_id text NOT NULL,
        sequence bigint CHECK (sequence >= 0) NOT NULL,
        event_type text NOT NULL, event_version text NOT NULL,
        payload json NOT NULL, metadata json NOT NULL,
        PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
    "CREATE TABLE snapshots (
        aggregate_type text NOT NULL, aggregate_id text NOT NULL,
        last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
        current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
        payload json NOT NULL,
        PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
];

type Store<A> = PersistedEventStore<PostgresEventRepository, A>;

struct Peer {
    orders: PostgresCqrs<Order>,
    customers: Store<Customer>,
    products: Store<Product>,
}

/// Starts the peer on `server` with a customer (with an address) and a catalog of `skus`,
/// as `super::shop` sets OMS up: (where it listens, customer id, address id).
pub async fn start(
    server: &EmbeddedPostgres,
    skus: impl IntoIterator<Item = String>,
) -> (SocketAddr, String, String) {
    let options = server.connect_options(DATABASE);
    embedded::ensure_database(&options, DATABASE)
        .await
        .expect("the peer's database");
    // As many connections as OMS's request pool.
    let pool = event_store::pool_options()
        .connect_with(options)
        .await
        .expect("the peer's pool");
    for statement in SCHEMA {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect("postgres-es's schema");
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let customers = postgres_cqrs::<Customer>(pool.clone(), vec![], clock.clone());
    let products = postgres_cqrs::<Product>(pool.clone(), vec![], ());

    let customer_id = CustomerId::new();
    let (name, email) =
        input::<RegisterCustomerInput>(json!({"name": "Bench", "email": "bench@example.com"}))
            .validate()
            .expect("a customer");
    let register = CustomerCommand::Register {
        customer_id,
        name,
        email,
        email_owner: None,
    };
    customers
        .execute(&customer_id.to_string(), register)
        .await
        .expect("registering");
    let address_id = AddressId::new();
    let address = input::<AddAddressInput>(
        json!({"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
    )
    .validate()
    .expect("an address");
    let add = CustomerCommand::AddAddress {
        address_id,
        address,
    };
    customers
        .execute(&customer_id.to_string(), add)
        .await
        .expect("adding the address");
    for sku in skus {
        let product = json!({"sku": sku, "name": format!("Product {sku}"), "price": {"amount": "9.90", "currency": "EUR"}, "stock": 1_000_000});
        let (sku, name, price, stock) = input::<DefineProductInput>(product)
            .validate()
            .expect("a product");
        let define = ProductCommand::Define {
            sku: sku.clone(),
            name,
            price,
            stock,
        };
        products
            .execute(sku.as_str(), define)
            .await
            .expect("defining");
    }

    let repository = || PostgresEventRepository::new(pool.clone());
    let peer = Arc::new(Peer {
        orders: postgres_cqrs::<Order>(pool.clone(), vec![], clock),
        customers: PersistedEventStore::new_event_store(repository()),
        products: PersistedEventStore::new_event_store(repository()),
    });
    let app = Router::new().route("/orders", post(place)).with_state(peer);
    let addr = super::serve(app).await;
    (addr, customer_id.to_string(), address_id.to_string())
}

fn input<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("valid input")
}

type Refusal = (StatusCode, String);

fn failed(error: impl std::fmt::Display) -> Refusal {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

/// `POST /orders`: validate, load the customer and the products, place.
async fn place(
    State(peer): State<Arc<Peer>>,
    Json(input): Json<PlaceOrderInput>,
) -> Result<(StatusCode, Json<Value>), Refusal> {
    let order = input
        .validate()
        .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, format!("{e:?}")))?;
    let mut customer = peer
        .customers
        .load_aggregate(&order.customer_id.to_string())
        .await
        .map_err(failed)?;
    let mut skus: Vec<String> = order.lines.iter().map(|l| l.sku.to_string()).collect();
    skus.sort_unstable();
    skus.dedup();
    let mut facts = BTreeMap::new();
    for sku in &skus {
        let mut product = peer.products.load_aggregate(sku).await.map_err(failed)?;
        facts.insert(sku.clone(), product.aggregate().facts());
    }
    let products = order
        .lines
        .iter()
        .filter_map(|line| Some((line.sku.clone(), facts.get(line.sku.as_str())?.clone()?)))
        .collect();
    let order_id = OrderId::new();
    let place = OrderCommand::Place(PlaceOrder {
        order_id,
        customer_id: order.customer_id,
        shipping_address_id: order.shipping_address_id,
        lines: order.lines,
        customer: customer.aggregate().facts(),
        products,
    });
    peer.orders
        .execute(&order_id.to_string(), place)
        .await
        .map_err(failed)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": order_id.to_string() })),
    ))
}
