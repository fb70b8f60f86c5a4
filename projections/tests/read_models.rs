//! The read models over a generated history of all four aggregates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework};
use domain::clock::{SharedClock, SystemClock};
use domain::order::{PlaceOrder, RequestedLine};
use domain::shipment::ShipmentLine;
use domain::values::*;
use domain::{
    Customer, CustomerCommand, Order, OrderCommand, Product, ProductCommand, Shipment,
    ShipmentCommand,
};
use event_store::testing::TestDatabase;
use event_store::{EventLog, PgEventRepository};
use projections::runtime::{Runtime, RuntimeOptions};
use serde_json::Value;
use tokio::sync::watch;

const TABLES: &[&str] = &[
    "orders",
    "order_lines",
    "order_history",
    "order_customers",
    "customers",
    "customer_addresses",
    "shipments",
    "products",
];

struct World {
    log: EventLog,
    clock: SharedClock,
}

impl World {
    async fn run<A: Aggregate + 'static>(
        &self,
        id: &str,
        command: A::Command,
        services: A::Services,
    ) -> Result<(), String> {
        let store =
            PersistedEventStore::<_, A>::new_event_store(PgEventRepository::new(self.log.clone()))
                .with_upcasters(domain::events::upcasters());
        CqrsFramework::new(store, vec![], services)
            .execute(id, command)
            .await
            .map_err(|e| e.to_string())
    }

    async fn load<A: Aggregate>(&self, id: &str) -> A {
        let mut aggregate = A::default();
        for event in self
            .log
            .read_aggregate(A::TYPE, id, 0)
            .await
            .expect("events")
        {
            aggregate.apply(serde_json::from_str(event.payload.get()).expect("event"));
        }
        aggregate
    }
}

fn start(log: &EventLog) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, shutdown) = watch::channel(false);
    let options = RuntimeOptions {
        batch_size: 100,
        ..RuntimeOptions::default()
    };
    (
        stop,
        tokio::spawn(Runtime::new(log.clone(), projections::read_models(), options).run(shutdown)),
    )
}

async fn caught_up(log: &EventLog) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = projections::status::status(log, &projections::names())
            .await
            .expect("status");
        if all.iter().all(|s| s.lag == 0 && s.state == "RUNNING") {
            return;
        }
        assert!(all.iter().all(|s| s.state != "FAILED"), "{all:?}");
        assert!(Instant::now() < deadline, "not caught up: {all:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn dump(db: &TestDatabase) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for table in TABLES {
        let rows: Value = sqlx::query_scalar(&format!(
            "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY to_jsonb(t)::text), '[]'::jsonb) FROM {table} t"
        ))
        .fetch_one(&db.pool)
        .await
        .expect("dump");
        out.push(((*table).to_owned(), rows));
    }
    out
}

/// Customers, products, and orders driven through their whole life, with renames and price
/// changes in between: a few thousand events.
async fn generate(world: &World, orders: usize) -> (Vec<CustomerId>, Vec<OrderId>) {
    let eur = Currency::parse("EUR").expect("EUR");
    let mut customers = Vec::new();
    for n in 0..20 {
        let id = CustomerId::new();
        let register = CustomerCommand::Register {
            customer_id: id,
            name: PersonName::parse(format!("Customer {n}")).expect("name"),
            email: Email::parse(format!("c{n}@example.com")).expect("email"),
            email_owner: None,
        };
        world
            .run::<Customer>(&id.to_string(), register, world.clock.clone())
            .await
            .expect("register");
        let address = Address {
            label: Some(AddressLabel::parse("home").expect("label")),
            line1: AddressLine::parse(format!("Street {n}")).expect("line"),
            line2: None,
            city: City::parse("Berlin").expect("city"),
            postal_code: PostalCode::parse("10115").expect("postal"),
            country: Country::parse("DE").expect("country"),
        };
        let add = CustomerCommand::AddAddress {
            address_id: AddressId::from_uuid(id.as_uuid()),
            address,
        };
        world
            .run::<Customer>(&id.to_string(), add, world.clock.clone())
            .await
            .expect("address");
        customers.push(id);
    }
    for n in 0..10 {
        let define = ProductCommand::Define {
            sku: Sku::parse(format!("SKU-{n}")).expect("sku"),
            name: ProductName::parse(format!("Product {n}")).expect("name"),
            price: Money::from_minor(100 * (n + 1), eur),
            stock: StockLevel::new(10_000).expect("stock"),
        };
        world
            .run::<Product>(&format!("SKU-{n}"), define, ())
            .await
            .expect("define");
    }
    let mut placed = Vec::new();
    for i in 0..orders {
        let customer_id = customers[i % customers.len()];
        let customer = world.load::<Customer>(&customer_id.to_string()).await;
        let lines: Vec<RequestedLine> = (0..1 + i % 3)
            .map(|l| RequestedLine {
                sku: Sku::parse(format!("SKU-{}", (i + l) % 10)).expect("sku"),
                quantity: Quantity::new(1 + l as i64).expect("q"),
            })
            .collect();
        let mut products = std::collections::BTreeMap::new();
        for line in &lines {
            let product = world.load::<Product>(line.sku.as_str()).await;
            products.insert(line.sku.clone(), product.facts().expect("defined"));
        }
        let order_id = OrderId::new();
        let place = OrderCommand::Place(PlaceOrder {
            order_id,
            customer_id,
            shipping_address_id: AddressId::from_uuid(customer_id.as_uuid()),
            lines: lines.clone(),
            customer: customer.facts(),
            products,
        });
        world
            .run::<Order>(&order_id.to_string(), place, world.clock.clone())
            .await
            .expect("place");
        let oid = order_id.to_string();
        for line in &lines {
            let reserve = ProductCommand::Reserve {
                order_id,
                quantity: line.quantity,
            };
            world
                .run::<Product>(line.sku.as_str(), reserve, ())
                .await
                .expect("reserve");
        }
        match i % 5 {
            0 => {
                world
                    .run::<Order>(
                        &oid,
                        OrderCommand::Reject {
                            sku: lines[0].sku.clone(),
                        },
                        world.clock.clone(),
                    )
                    .await
                    .expect("reject");
                for line in &lines {
                    world
                        .run::<Product>(line.sku.as_str(), ProductCommand::Release { order_id }, ())
                        .await
                        .expect("release");
                }
            }
            1 => {
                let reason = Reason::parse("changed my mind").expect("reason");
                world
                    .run::<Order>(&oid, OrderCommand::Cancel { reason }, world.clock.clone())
                    .await
                    .expect("cancel");
            }
            _ => {
                world
                    .run::<Order>(&oid, OrderCommand::Confirm, world.clock.clone())
                    .await
                    .expect("confirm");
                let order = world.load::<Order>(&oid).await;
                let pay = OrderCommand::Pay {
                    amount: order.total().expect("total"),
                    method: PaymentMethod::parse("card").expect("method"),
                    reference: PaymentReference::parse(format!("psp-{i}")).expect("reference"),
                };
                world
                    .run::<Order>(&oid, pay, world.clock.clone())
                    .await
                    .expect("pay");
                let shipment_id = ShipmentId::for_order(order_id);
                let create = ShipmentCommand::Create {
                    shipment_id,
                    order_id,
                    address_id: AddressId::from_uuid(customer_id.as_uuid()),
                    address: order.shipping_address().expect("address").clone(),
                    lines: order
                        .lines()
                        .iter()
                        .map(|l| ShipmentLine {
                            sku: l.sku.clone(),
                            product_name: l.product_name.clone(),
                            quantity: l.quantity,
                        })
                        .collect(),
                };
                let sid = shipment_id.to_string();
                world
                    .run::<Shipment>(&sid, create, world.clock.clone())
                    .await
                    .expect("create shipment");
                if i % 5 >= 3 {
                    let dispatch = ShipmentCommand::Dispatch {
                        carrier: Carrier::parse("DHL").expect("carrier"),
                        tracking_number: TrackingNumber::parse(format!("JJD{i}"))
                            .expect("tracking"),
                    };
                    world
                        .run::<Shipment>(&sid, dispatch, world.clock.clone())
                        .await
                        .expect("dispatch");
                    world
                        .run::<Order>(
                            &oid,
                            OrderCommand::MarkShipped { shipment_id },
                            world.clock.clone(),
                        )
                        .await
                        .expect("ship");
                    if i % 5 == 4 {
                        world
                            .run::<Shipment>(&sid, ShipmentCommand::Deliver, world.clock.clone())
                            .await
                            .expect("deliver");
                        world
                            .run::<Order>(&oid, OrderCommand::MarkDelivered, world.clock.clone())
                            .await
                            .expect("delivered");
                    }
                }
            }
        }
        if i % 7 == 0 {
            let customer = customers[(i / 7) % customers.len()];
            let rename = CustomerCommand::Rename {
                name: PersonName::parse(format!("Renamed {i}")).expect("name"),
            };
            world
                .run::<Customer>(&customer.to_string(), rename, world.clock.clone())
                .await
                .expect("rename");
        }
        if i % 11 == 0 {
            let change = ProductCommand::ChangePrice {
                price: Money::from_minor(5_000 + i as i64, eur),
            };
            world
                .run::<Product>(&format!("SKU-{}", i % 10), change, ())
                .await
                .expect("price");
        }
        placed.push(order_id);
    }
    (customers, placed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_live_run_equals_a_rebuild_from_the_log() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let world = World {
        log: log.clone(),
        clock: Arc::new(SystemClock),
    };
    let (stop, runtime) = start(&log);
    let (customers, orders) = generate(&world, 300).await;
    caught_up(&log).await;
    stop.send(true).expect("stop");
    runtime.await.expect("runtime");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert!(events > 2_000, "a history of thousands of events: {events}");
    let live = dump(&db).await;

    // Every order is there, with its customer's current name (renames followed).
    let rows: Vec<(uuid::Uuid, String, String)> = sqlx::query_as(
        "SELECT o.id, o.customer_name, c.name FROM orders o JOIN customers c ON c.id = o.customer_id",
    )
    .fetch_all(&db.pool)
    .await
    .expect("orders");
    assert_eq!(rows.len(), orders.len());
    assert!(
        rows.iter()
            .all(|(_, on_order, current)| on_order == current),
        "enrichment follows renames"
    );
    let renamed = rows
        .iter()
        .filter(|(_, name, _)| name.starts_with("Renamed"))
        .count();
    assert!(renamed > 0);
    let counts: i64 = sqlx::query_scalar("SELECT sum(order_count) FROM customers")
        .fetch_one(&db.pool)
        .await
        .expect("sum");
    assert_eq!(counts, orders.len() as i64);
    assert_eq!(customers.len(), 20);

    // Rebuild from position 0 into empty tables: the same rows, table for table.
    for table in TABLES {
        sqlx::query(&format!("TRUNCATE {table}"))
            .execute(&db.pool)
            .await
            .expect("truncate");
    }
    sqlx::query("UPDATE projection_checkpoints SET transaction_id = 0, position = 0")
        .execute(&db.pool)
        .await
        .expect("reset");
    let (stop, runtime) = start(&log);
    caught_up(&log).await;
    stop.send(true).expect("stop");
    runtime.await.expect("runtime");
    let rebuilt = dump(&db).await;
    for ((table, live_rows), (_, rebuilt_rows)) in live.iter().zip(&rebuilt) {
        assert_eq!(
            live_rows, rebuilt_rows,
            "{table} differs between the live run and the rebuild"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_view_follows_its_life_and_keeps_captured_lines() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let world = World {
        log: log.clone(),
        clock: Arc::new(SystemClock),
    };
    let (stop, runtime) = start(&log);
    let (customers, orders) = generate(&world, 5).await;
    caught_up(&log).await;

    // Order 3 (i % 5 == 3): confirmed, paid, shipment dispatched, order shipped.
    let shipped = orders[3];
    let row: (String, Option<String>, Option<String>, Option<String>, Option<i64>, i64) = sqlx::query_as(
        "SELECT status, shipment_status, shipment_carrier, shipment_tracking_number, payment_amount_minor, total_minor
         FROM orders WHERE id = $1",
    )
    .bind(shipped.as_uuid())
    .fetch_one(&db.pool)
    .await
    .expect("order");
    assert_eq!(
        (
            row.0.as_str(),
            row.1.as_deref(),
            row.2.as_deref(),
            row.3.as_deref()
        ),
        ("SHIPPED", Some("DISPATCHED"), Some("DHL"), Some("JJD3"))
    );
    assert_eq!(row.4, Some(row.5), "paid the total");
    let history: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM order_history WHERE order_id = $1 ORDER BY sequence",
    )
    .bind(shipped.as_uuid())
    .fetch_all(&db.pool)
    .await
    .expect("history");
    assert_eq!(history, ["PLACED", "CONFIRMED", "PAID", "SHIPPED"]);
    let shipment: (String, Option<String>) =
        sqlx::query_as("SELECT status, carrier FROM shipments WHERE order_id = $1")
            .bind(shipped.as_uuid())
            .fetch_one(&db.pool)
            .await
            .expect("shipment");
    assert_eq!(shipment, ("DISPATCHED".to_owned(), Some("DHL".to_owned())));

    // A later price change does not touch past lines; a rename and an email change reach
    // every order of the customer, also orders no event of this batch touched.
    let before: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, unit_price_minor FROM order_lines ORDER BY order_id, line_no")
            .fetch_all(&db.pool)
            .await
            .expect("lines");
    let eur = Currency::parse("EUR").expect("EUR");
    world
        .run::<Product>(
            "SKU-0",
            ProductCommand::ChangePrice {
                price: Money::from_minor(99_999, eur),
            },
            (),
        )
        .await
        .expect("price");
    let customer = customers[0];
    let name = PersonName::parse("Ada King").expect("name");
    world
        .run::<Customer>(
            &customer.to_string(),
            CustomerCommand::Rename { name },
            world.clock.clone(),
        )
        .await
        .expect("rename");
    let email = Email::parse("ada@king.org").expect("email");
    world
        .run::<Customer>(
            &customer.to_string(),
            CustomerCommand::ChangeEmail {
                email,
                email_owner: None,
            },
            world.clock.clone(),
        )
        .await
        .expect("email");
    caught_up(&log).await;
    let after: Vec<(String, i64)> =
        sqlx::query_as("SELECT sku, unit_price_minor FROM order_lines ORDER BY order_id, line_no")
            .fetch_all(&db.pool)
            .await
            .expect("lines");
    assert_eq!(before, after);
    let names: Vec<(String, String)> =
        sqlx::query_as("SELECT customer_name, customer_email FROM orders WHERE customer_id = $1")
            .bind(customer.as_uuid())
            .fetch_all(&db.pool)
            .await
            .expect("orders");
    assert!(!names.is_empty());
    assert!(
        names
            .iter()
            .all(|(n, e)| n == "Ada King" && e == "ada@king.org"),
        "{names:?}"
    );
    let price: i64 = sqlx::query_scalar("SELECT price_minor FROM products WHERE sku = 'SKU-0'")
        .fetch_one(&db.pool)
        .await
        .expect("price");
    assert_eq!(price, 99_999);
    stop.send(true).expect("stop");
    runtime.await.expect("runtime");
}
