//! Rebuilding the `orders` projection from the log.
//!
//! Seeds a log of order histories (customers, products, orders placed, confirmed, paid,
//! shipped and delivered, with stock reservations) through the append path, then:
//! - rebuilds `orders` from a 1,000,000-event log (`OMS_BENCH_EVENTS`) and reports events/s
//!   over the whole log; target on the 2-core reference machine: >= 50,000 events/s;
//! - on a 100,000-event log (`OMS_BENCH_BASELINE_EVENTS`), the same rebuild and the
//!   baseline, cqrs-es's `QueryReplay` of the Order events into a postgres-es
//!   `GenericQuery` view, and their ratio.
//!
//! Run: `cargo bench --bench rebuild`. Full durability (fsync on).

// A benchmark reports on stdout.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use cqrs_es::persist::{GenericQuery, QueryReplay, SerializedEvent};
use cqrs_es::{DomainEvent, EventEnvelope, View};
use domain::order::OrderLine;
use domain::shipment::ShipmentLine;
use domain::values::*;
use domain::{CustomerEvent, Order, OrderEvent, ProductEvent, ShipmentEvent};
use event_store::embedded::{self, Durability};
use event_store::testing::private_server;
use event_store::{EventLog, PgEventRepository};
use postgres_es::PostgresViewRepository;
use projections::models::orders::OrdersProjection;
use serde::{Deserialize, Serialize};
use serde_json::json;

const TARGET: f64 = 50_000.0;

/// Builds a log of `total` events (roughly) with consistent per-aggregate sequences.
struct Seeder {
    log: EventLog,
    sequences: HashMap<String, usize>,
    pending: Vec<SerializedEvent>,
    written: usize,
}

impl Seeder {
    fn push<E: DomainEvent>(&mut self, aggregate_type: &str, id: &str, event: &E) {
        let sequence = self.sequences.entry(id.to_owned()).or_default();
        *sequence += 1;
        self.pending.push(SerializedEvent {
            aggregate_id: id.to_owned(),
            sequence: *sequence,
            aggregate_type: aggregate_type.to_owned(),
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_value(event).expect("event"),
            metadata: json!({}),
        });
    }

    async fn flush(&mut self) {
        if self.pending.len() >= 2_000 {
            self.force().await;
        }
    }

    async fn force(&mut self) {
        if !self.pending.is_empty() {
            self.log.append(&self.pending).await.expect("seeding");
            self.written += self.pending.len();
            self.pending.clear();
        }
    }
}

async fn seed(log: &EventLog, total: usize) -> usize {
    let mut s = Seeder {
        log: log.clone(),
        sequences: HashMap::new(),
        pending: Vec::new(),
        written: 0,
    };
    let now: Timestamp = Utc::now().into();
    let eur = Currency::parse("EUR").expect("EUR");
    let address = Address {
        label: Some(AddressLabel::parse("home").expect("label")),
        line1: AddressLine::parse("Hauptstraße 1").expect("line"),
        line2: None,
        city: City::parse("Berlin").expect("city"),
        postal_code: PostalCode::parse("10115").expect("postal"),
        country: Country::parse("DE").expect("country"),
    };
    let customers: Vec<(CustomerId, AddressId)> = (0..2_000)
        .map(|_| (CustomerId::new(), AddressId::new()))
        .collect();
    for (n, (customer, address_id)) in customers.iter().enumerate() {
        let id = customer.to_string();
        s.push(
            "Customer",
            &id,
            &CustomerEvent::CustomerRegistered {
                customer_id: *customer,
                name: PersonName::parse(format!("Customer {n}")).expect("name"),
                email: Email::parse(format!("c{n}@example.com")).expect("email"),
                registered_at: now,
            },
        );
        s.push(
            "Customer",
            &id,
            &CustomerEvent::CustomerAddressAdded {
                address_id: *address_id,
                address: address.clone(),
            },
        );
        s.flush().await;
    }
    for n in 0..200 {
        s.push(
            "Product",
            &format!("SKU-{n}"),
            &ProductEvent::ProductDefined {
                sku: Sku::parse(format!("SKU-{n}")).expect("sku"),
                name: ProductName::parse(format!("Product {n}")).expect("name"),
                price: Money::from_minor(990 + n, eur),
                stock: 1_000_000,
            },
        );
    }
    let mut i = 0_usize;
    while s.written + s.pending.len() < total {
        let (customer, address_id) = customers[i % customers.len()];
        let order = OrderId::new();
        let oid = order.to_string();
        let lines: Vec<OrderLine> = (0..1 + i % 3)
            .map(|l| OrderLine {
                sku: Sku::parse(format!("SKU-{}", (i + l) % 200)).expect("sku"),
                product_name: ProductName::parse(format!("Product {}", (i + l) % 200))
                    .expect("name"),
                quantity: Quantity::new(1 + l as i64).expect("q"),
                unit_price: Money::from_minor(990, eur),
            })
            .collect();
        let total_minor: i64 = lines.iter().map(|l| l.line_total().minor()).sum();
        let total_money = Money::from_minor(total_minor, eur);
        s.push(
            "Order",
            &oid,
            &OrderEvent::OrderPlaced {
                order_id: order,
                customer_id: customer,
                shipping_address_id: address_id,
                shipping_address: address.clone(),
                lines: lines.clone(),
                total: total_money,
                placed_at: now,
            },
        );
        for line in &lines {
            s.push(
                "Product",
                line.sku.as_str(),
                &ProductEvent::StockReserved {
                    order_id: order,
                    quantity: line.quantity,
                },
            );
        }
        s.push("Order", &oid, &OrderEvent::OrderConfirmed { at: now });
        s.push(
            "Order",
            &oid,
            &OrderEvent::OrderPaid {
                amount: total_money,
                method: PaymentMethod::parse("card").expect("method"),
                reference: PaymentReference::parse(format!("psp-{i}")).expect("reference"),
                paid_at: now,
            },
        );
        let shipment = ShipmentId::for_order(order);
        let sid = shipment.to_string();
        s.push(
            "Shipment",
            &sid,
            &ShipmentEvent::ShipmentCreated {
                shipment_id: shipment,
                order_id: order,
                address_id,
                address: address.clone(),
                lines: lines
                    .iter()
                    .map(|l| ShipmentLine {
                        sku: l.sku.clone(),
                        product_name: l.product_name.clone(),
                        quantity: l.quantity,
                    })
                    .collect(),
                created_at: now,
            },
        );
        s.push(
            "Shipment",
            &sid,
            &ShipmentEvent::ShipmentDispatched {
                carrier: Carrier::parse("DHL").expect("carrier"),
                tracking_number: TrackingNumber::parse(format!("JJD{i}")).expect("tracking"),
                dispatched_at: now,
            },
        );
        s.push(
            "Order",
            &oid,
            &OrderEvent::OrderShipped {
                shipment_id: shipment,
                at: now,
            },
        );
        s.push(
            "Shipment",
            &sid,
            &ShipmentEvent::ShipmentDelivered { delivered_at: now },
        );
        s.push("Order", &oid, &OrderEvent::OrderDelivered { at: now });
        s.flush().await;
        i += 1;
    }
    s.force().await;
    // Let the freshly written log settle (autovacuum, checkpoint) before anything is timed:
    // a real rebuild does not start right after a bulk insert.
    sqlx::query("VACUUM ANALYZE events")
        .execute(log.pool())
        .await
        .expect("vacuum");
    sqlx::query("CHECKPOINT")
        .execute(log.pool())
        .await
        .expect("checkpoint");
    s.written
}

/// The baseline's view: what a postgres-es GenericQuery keeps per order, as JSON.
#[derive(Debug, Default, Serialize, Deserialize)]
struct OrderView {
    status: String,
    customer_id: String,
    total_minor: i64,
    lines: usize,
    history: Vec<String>,
}

impl View<Order> for OrderView {
    fn update(&mut self, event: &EventEnvelope<Order>) {
        let status = match &event.payload {
            OrderEvent::OrderPlaced {
                customer_id,
                lines,
                total,
                ..
            } => {
                self.customer_id = customer_id.to_string();
                self.total_minor = total.minor();
                self.lines = lines.len();
                "PLACED"
            }
            OrderEvent::OrderConfirmed { .. } => "CONFIRMED",
            OrderEvent::OrderRejected { .. } => "REJECTED",
            OrderEvent::OrderPaid { .. } => "PAID",
            OrderEvent::OrderCancelled { .. } => "CANCELLED",
            OrderEvent::OrderShipped { .. } => "SHIPPED",
            OrderEvent::OrderDelivered { .. } => "DELIVERED",
        };
        self.status = status.to_owned();
        self.history.push(status.to_owned());
    }
}

async fn database(name: &str, server: &event_store::embedded::EmbeddedPostgres) -> EventLog {
    let options = server.connect_options(name);
    embedded::ensure_database(&options, name)
        .await
        .expect("database");
    let pool = event_store::pool_options()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("pool");
    event_store::migrate(&pool).await.expect("migrate");
    EventLog::new(pool)
}

async fn our_rebuild(log: &EventLog) -> (u64, f64) {
    let started = Instant::now();
    let mut marks: Vec<(u64, f64)> = Vec::new();
    projections::rebuild::rebuild(log, &OrdersProjection, |p| {
        marks.push((p.events, started.elapsed().as_secs_f64()));
    })
    .await
    .expect("rebuild");
    let events = marks.last().map_or(0, |m| m.0);
    let tenth = (marks.len() / 10).max(1);
    let rate = |a: (u64, f64), b: (u64, f64)| (b.0 - a.0) as f64 / (b.1 - a.1).max(1e-9);
    if marks.len() > 2 * tenth {
        let first = rate((0, 0.0), marks[tenth]);
        let last = rate(marks[marks.len() - 1 - tenth], marks[marks.len() - 1]);
        println!(
            "    ({events} events: first tenth {first:.0} events/s, last tenth {last:.0} events/s)"
        );
    }
    (events, events as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let big: usize = std::env::var("OMS_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let small: usize = std::env::var("OMS_BENCH_BASELINE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (_dir, server) = tokio::task::spawn_blocking(|| private_server(Durability::Full))
        .await
        .expect("join");

    // Baseline and ours on the same small log.
    let log = database("rebuild_small", &server).await;
    let seeded = seed(&log, small).await;
    let (_, ours_small) = our_rebuild(&log).await;
    sqlx::query("CREATE TABLE order_query (view_id text PRIMARY KEY, version bigint NOT NULL, payload json NOT NULL)")
        .execute(log.pool())
        .await
        .expect("view table");
    let order_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Order'")
            .fetch_one(log.pool())
            .await
            .expect("count");
    let view_repo = Arc::new(PostgresViewRepository::<OrderView, Order>::new(
        "order_query",
        log.pool().clone(),
    ));
    let replay = QueryReplay::new(
        PgEventRepository::new(log.clone()),
        GenericQuery::new(view_repo),
    );
    let started = Instant::now();
    replay.replay_all().await.expect("baseline replay");
    let baseline = order_events as f64 / started.elapsed().as_secs_f64();
    let views: i64 = sqlx::query_scalar("SELECT count(*) FROM order_query")
        .fetch_one(log.pool())
        .await
        .expect("views");
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(log.pool())
        .await
        .expect("orders");
    assert_eq!(views, orders, "both built every order");

    // Ours on the big log.
    let log = database("rebuild_big", &server).await;
    let seed_started = Instant::now();
    let seeded_big = seed(&log, big).await;
    let seed_rate = seeded_big as f64 / seed_started.elapsed().as_secs_f64();
    let (events, ours_big) = our_rebuild(&log).await;
    assert_eq!(events as usize, seeded_big);

    let verdict = if ours_big >= TARGET { "met" } else { "NOT met" };
    println!("rebuild of `orders` (fsync on):");
    println!("  {seeded} events: oms rebuild {ours_small:>9.0} events/s | baseline QueryReplay+GenericQuery {baseline:>7.0} order events/s | ratio {:.1}", ours_small / baseline);
    println!("  {seeded_big} events: oms rebuild {ours_big:>9.0} events/s (seeded at {seed_rate:.0} events/s)");
    println!("  target >= {TARGET:.0} events/s on the 1,000,000-event log: {verdict}");
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("join")
        .expect("stop");
}
