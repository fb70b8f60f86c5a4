//! A generated history of all four aggregates, and helpers to run and inspect projections.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework};
use domain::clock::SharedClock;
use domain::order::{PlaceOrder, RequestedLine};
use domain::shipment::ShipmentLine;
use domain::values::*;
use domain::{
    Customer, CustomerCommand, Order, OrderCommand, Product, ProductCommand, Shipment,
    ShipmentCommand,
};
use event_store::testing::TestDatabase;
use event_store::{EventLog, PgEventRepository};
use projections::runtime::{Running, Runtime, RuntimeOptions};
use serde_json::Value;

pub const TABLES: &[&str] = &[
    "orders",
    "order_lines",
    "order_history",
    "order_customers",
    "customers",
    "customer_addresses",
    "shipments",
    "products",
];

pub struct World {
    pub log: EventLog,
    pub clock: SharedClock,
}

impl World {
    /// Commands on `log`, with the system clock.
    pub fn on(log: &EventLog) -> Self {
        Self {
            log: log.clone(),
            clock: std::sync::Arc::new(domain::clock::SystemClock),
        }
    }

    pub async fn run<A: Aggregate + 'static>(
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

    pub async fn load<A: Aggregate>(&self, id: &str) -> A {
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

    /// Places an order of `lines` for the customer, to the address, with the current
    /// facts of the customer and the products (as the command API does).
    pub async fn place(
        &self,
        customer_id: CustomerId,
        shipping_address_id: AddressId,
        lines: Vec<RequestedLine>,
    ) -> OrderId {
        let customer = self.load::<Customer>(&customer_id.to_string()).await;
        let mut products = std::collections::BTreeMap::new();
        for line in &lines {
            let product = self.load::<Product>(line.sku.as_str()).await;
            products.insert(line.sku.clone(), product.facts().expect("defined"));
        }
        let order_id = OrderId::new();
        let place = OrderCommand::Place(PlaceOrder {
            order_id,
            customer_id,
            shipping_address_id,
            lines,
            customer: customer.facts(),
            products,
        });
        self.run::<Order>(&order_id.to_string(), place, self.clock.clone())
            .await
            .expect("place");
        order_id
    }
}

pub fn start(log: &EventLog) -> Running {
    let options = RuntimeOptions {
        batch_size: 100,
        ..RuntimeOptions::default()
    };
    Runtime::new(log.clone(), projections::read_models(), options).spawn()
}

pub async fn caught_up(log: &EventLog) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // The read models these tests run (not the process manager).
        let names: Vec<&str> = projections::read_models()
            .iter()
            .map(|p| p.name())
            .collect();
        let all = projections::status::status(log, &names)
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

pub async fn dump(db: &TestDatabase) -> Vec<(String, Value)> {
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
pub async fn generate(world: &World, orders: usize) -> (Vec<CustomerId>, Vec<OrderId>) {
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
        let lines: Vec<RequestedLine> = (0..1 + i % 3)
            .map(|l| RequestedLine {
                sku: Sku::parse(format!("SKU-{}", (i + l) % 10)).expect("sku"),
                quantity: Quantity::new(1 + l as i64).expect("q"),
            })
            .collect();
        let address = AddressId::from_uuid(customer_id.as_uuid());
        let order_id = world.place(customer_id, address, lines.clone()).await;
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
                        .run::<Product>(
                            line.sku.as_str(),
                            ProductCommand::Release {
                                order_id,
                                quantity: line.quantity,
                            },
                            (),
                        )
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
                    lines: order.lines().iter().map(ShipmentLine::from).collect(),
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

/// Empties every read model and replays the whole log into it: what a from-scratch
/// rebuild gives, to compare a live run with.
pub async fn replay_from_scratch(db: &TestDatabase, log: &EventLog) -> Vec<(String, Value)> {
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
    let running = start(log);
    caught_up(log).await;
    running.stop().await;
    dump(db).await
}
