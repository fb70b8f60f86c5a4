//! The order-fulfillment process manager against a real database.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::clock::SystemClock;
use domain::order::RequestedLine;
use domain::values::*;
use domain::{
    Customer, CustomerCommand, Order, OrderCommand, OrderStatus, Product, ProductCommand, Shipment,
    ShipmentCommand, ShipmentStatus,
};
use event_store::testing::TestDatabase;
use projections::runtime::{Running, Runtime, RuntimeOptions};
use support::World;

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("EUR").expect("EUR"))
}

async fn product(world: &World, sku: &str, stock: i64) {
    let define = ProductCommand::Define {
        sku: Sku::parse(sku).expect("sku"),
        name: ProductName::parse(format!("Product {sku}")).expect("name"),
        price: eur(1_000),
        stock: StockLevel::new(stock).expect("stock"),
    };
    world.run::<Product>(sku, define, ()).await.expect("define");
}

async fn customer(world: &World) -> (CustomerId, AddressId) {
    let id = CustomerId::new();
    let register = CustomerCommand::Register {
        customer_id: id,
        name: PersonName::parse("Ada").expect("name"),
        email: Email::parse(format!("{}@example.com", id.as_uuid().simple())).expect("email"),
        email_owner: None,
    };
    world
        .run::<Customer>(&id.to_string(), register, world.clock.clone())
        .await
        .expect("register");
    let address_id = AddressId::new();
    let address = Address {
        label: None,
        line1: AddressLine::parse("Hauptstraße 1").expect("line"),
        line2: None,
        city: City::parse("Berlin").expect("city"),
        postal_code: PostalCode::parse("10115").expect("postal"),
        country: Country::parse("DE").expect("country"),
    };
    world
        .run::<Customer>(
            &id.to_string(),
            CustomerCommand::AddAddress {
                address_id,
                address,
            },
            world.clock.clone(),
        )
        .await
        .expect("address");
    (id, address_id)
}

async fn place(
    world: &World,
    (customer_id, address_id): (CustomerId, AddressId),
    lines: &[(&str, i64)],
) -> OrderId {
    let lines = lines
        .iter()
        .map(|(s, q)| RequestedLine {
            sku: Sku::parse(s).expect("sku"),
            quantity: Quantity::new(*q).expect("q"),
        })
        .collect();
    world.place(customer_id, address_id, lines).await
}

fn start(world: &World) -> Running {
    let options = RuntimeOptions {
        standby_poll: Duration::from_millis(100),
        ..RuntimeOptions::default()
    };
    Runtime::new(
        world.log.clone(),
        projections::all(world.log.clone(), world.clock.clone()),
        options,
    )
    .spawn()
}

async fn status_of(world: &World, order: OrderId) -> Option<OrderStatus> {
    world.load::<Order>(&order.to_string()).await.status()
}

/// Waits until `order` reaches `status`.
async fn until(world: &World, order: OrderId, status: OrderStatus) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while status_of(world, order).await != Some(status) {
        assert!(
            Instant::now() < deadline,
            "order {order} stuck at {:?}, waiting for {status}",
            status_of(world, order).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn stock(world: &World, sku: &str) -> (u64, u64, u64) {
    let product = world.load::<Product>(sku).await;
    (product.on_hand(), product.reserved(), product.available())
}

fn world(db: &TestDatabase) -> World {
    World {
        log: db.log(),
        clock: Arc::new(SystemClock),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_goes_from_placed_to_delivered_with_stock_at_each_step() {
    let db = TestDatabase::new().await;
    let world = world(&db);
    product(&world, "A", 10).await;
    let buyer = customer(&world).await;
    let running = start(&world);
    let order = place(&world, buyer, &[("A", 2)]).await;
    until(&world, order, OrderStatus::Confirmed).await;
    assert_eq!(
        stock(&world, "A").await,
        (10, 2, 8),
        "reserved on confirmation"
    );

    // The reservation's event was caused by OrderPlaced, in the same correlation.
    let (placed_position, placed_correlation): (i64, String) = sqlx::query_as(
        "SELECT position, metadata->>'correlation_id' FROM events WHERE event_type = 'OrderPlaced' AND aggregate_id = $1",
    )
    .bind(order.to_string())
    .fetch_one(&db.pool)
    .await
    .expect("placed");
    let (causation, correlation): (String, String) = sqlx::query_as(
        "SELECT metadata->>'causation_id', metadata->>'correlation_id' FROM events WHERE event_type = 'StockReserved'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("reserved");
    assert_eq!(
        (causation, correlation),
        (format!("event:{placed_position}"), placed_correlation)
    );

    let total = world
        .load::<Order>(&order.to_string())
        .await
        .total()
        .expect("total");
    let pay = OrderCommand::Pay {
        amount: total,
        method: PaymentMethod::parse("card").expect("method"),
        reference: PaymentReference::parse("psp-1").expect("reference"),
    };
    world
        .run::<Order>(&order.to_string(), pay, world.clock.clone())
        .await
        .expect("pay");
    let shipment = ShipmentId::for_order(order).to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while world.load::<Shipment>(&shipment).await.status() != Some(ShipmentStatus::Pending) {
        assert!(Instant::now() < deadline, "no shipment was created");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        stock(&world, "A").await,
        (10, 2, 8),
        "still reserved while the shipment waits"
    );

    let dispatch = ShipmentCommand::Dispatch {
        carrier: Carrier::parse("DHL").expect("carrier"),
        tracking_number: TrackingNumber::parse("JJD1").expect("tracking"),
    };
    world
        .run::<Shipment>(&shipment, dispatch, world.clock.clone())
        .await
        .expect("dispatch");
    until(&world, order, OrderStatus::Shipped).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while stock(&world, "A").await != (8, 0, 8) {
        assert!(
            Instant::now() < deadline,
            "stock did not leave the shelf: {:?}",
            stock(&world, "A").await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    world
        .run::<Shipment>(&shipment, ShipmentCommand::Deliver, world.clock.clone())
        .await
        .expect("deliver");
    until(&world, order, OrderStatus::Delivered).await;
    assert_eq!(stock(&world, "A").await, (8, 0, 8));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_line_rejects_the_order_and_releases_what_was_reserved() {
    let db = TestDatabase::new().await;
    let world = world(&db);
    product(&world, "A", 5).await;
    product(&world, "B", 1).await;
    let buyer = customer(&world).await;
    let running = start(&world);
    let order = place(&world, buyer, &[("A", 2), ("B", 3)]).await;
    until(&world, order, OrderStatus::Rejected).await;
    let order_state = world.load::<Order>(&order.to_string()).await;
    let reason = order_state
        .history()
        .last()
        .and_then(|c| c.reason.clone())
        .expect("a reason");
    assert!(reason.contains('B'), "{reason}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while stock(&world, "A").await != (5, 0, 5) {
        assert!(
            Instant::now() < deadline,
            "A was not released: {:?}",
            stock(&world, "A").await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(stock(&world, "B").await, (1, 0, 1));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelling_at_each_allowed_stage_releases_stock() {
    let db = TestDatabase::new().await;
    let world = world(&db);
    product(&world, "A", 10).await;
    let buyer = customer(&world).await;
    let reason = || OrderCommand::Cancel {
        reason: Reason::parse("changed my mind").expect("reason"),
    };

    // Cancelled while PLACED, before the manager ever saw it.
    let early = place(&world, buyer, &[("A", 1)]).await;
    world
        .run::<Order>(&early.to_string(), reason(), world.clock.clone())
        .await
        .expect("cancel");
    let running = start(&world);

    // Cancelled when CONFIRMED.
    let confirmed = place(&world, buyer, &[("A", 2)]).await;
    until(&world, confirmed, OrderStatus::Confirmed).await;
    world
        .run::<Order>(&confirmed.to_string(), reason(), world.clock.clone())
        .await
        .expect("cancel");

    // Cancelled when PAID, with its shipment pending.
    let paid = place(&world, buyer, &[("A", 3)]).await;
    until(&world, paid, OrderStatus::Confirmed).await;
    let pay = OrderCommand::Pay {
        amount: world
            .load::<Order>(&paid.to_string())
            .await
            .total()
            .expect("total"),
        method: PaymentMethod::parse("card").expect("method"),
        reference: PaymentReference::parse("psp").expect("reference"),
    };
    world
        .run::<Order>(&paid.to_string(), pay, world.clock.clone())
        .await
        .expect("pay");
    let shipment = ShipmentId::for_order(paid).to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while world.load::<Shipment>(&shipment).await.status() != Some(ShipmentStatus::Pending) {
        assert!(Instant::now() < deadline, "no shipment");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    world
        .run::<Order>(&paid.to_string(), reason(), world.clock.clone())
        .await
        .expect("cancel");

    let deadline = Instant::now() + Duration::from_secs(30);
    while stock(&world, "A").await != (10, 0, 10)
        || world.load::<Shipment>(&shipment).await.status() != Some(ShipmentStatus::Cancelled)
    {
        assert!(
            Instant::now() < deadline,
            "stock {:?}, shipment {:?}",
            stock(&world, "A").await,
            world.load::<Shipment>(&shipment).await.status()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    for order in [early, confirmed, paid] {
        assert_eq!(status_of(&world, order).await, Some(OrderStatus::Cancelled));
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_five_orders_for_ten_in_stock_confirm_exactly_ten() {
    let db = TestDatabase::new().await;
    let world = Arc::new(world(&db));
    product(&world, "HOT", 10).await;
    let buyer = customer(&world).await;
    let running = start(&world);
    let tasks: Vec<_> = (0..25)
        .map(|_| {
            let world = world.clone();
            tokio::spawn(async move { place(&world, buyer, &[("HOT", 1)]).await })
        })
        .collect();
    let mut orders = Vec::new();
    for task in tasks {
        orders.push(task.await.expect("place"));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let (confirmed, rejected) = loop {
        let mut counts = (0, 0);
        for order in &orders {
            match status_of(&world, *order).await {
                Some(OrderStatus::Confirmed) => counts.0 += 1,
                Some(OrderStatus::Rejected) => counts.1 += 1,
                _ => {}
            }
        }
        if counts.0 + counts.1 == orders.len() {
            break counts;
        }
        assert!(Instant::now() < deadline, "not all decided: {counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((confirmed, rejected), (10, 15));
    assert_eq!(stock(&world, "HOT").await, (10, 10, 0), "never oversold");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_manager_at_random_points_leaves_every_effect_exactly_once() {
    let db = TestDatabase::new().await;
    let world = Arc::new(world(&db));
    for sku in ["A", "B", "C"] {
        product(&world, sku, 40).await;
    }
    let buyer = customer(&world).await;
    let placing = {
        let world = world.clone();
        tokio::spawn(async move {
            let mut orders = Vec::new();
            for i in 0..60_usize {
                let lines: Vec<(&str, i64)> = match i % 3 {
                    0 => vec![("A", 1)],
                    1 => vec![("A", 1), ("B", 2)],
                    _ => vec![("C", 3), ("B", 1)],
                };
                orders.push(place(&world, buyer, &lines).await);
            }
            orders
        })
    };
    let mut seed = 11_u64;
    while !placing.is_finished() {
        let running = start(&world);
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        tokio::time::sleep(Duration::from_millis(10 + (seed >> 58))).await;
        running.kill().await; // anywhere: between commands, mid-batch, before the checkpoint
    }
    let orders = placing.await.expect("placing");
    let running = start(&world);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut reserved_by_orders: BTreeMap<&str, u64> = BTreeMap::new();
    loop {
        reserved_by_orders.clear();
        let mut undecided = 0;
        for order in &orders {
            let state = world.load::<Order>(&order.to_string()).await;
            match state.status() {
                Some(OrderStatus::Confirmed) => {
                    for line in state.lines() {
                        let sku = match line.sku.as_str() {
                            "A" => "A",
                            "B" => "B",
                            _ => "C",
                        };
                        *reserved_by_orders.entry(sku).or_default() +=
                            u64::from(line.quantity.get());
                    }
                }
                Some(OrderStatus::Rejected) => {}
                _ => undecided += 1,
            }
        }
        if undecided == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{undecided} orders never reached a final state"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the manager finish releasing what rejected orders had reserved: after the
    // crashes it reacts again to everything since its last checkpoint, which on a loaded
    // machine takes a while. It must keep moving, though.
    let mut last = (i64::MIN, Instant::now());
    loop {
        let status = projections::status::status(&world.log, &[projections::fulfillment::NAME])
            .await
            .expect("status");
        if status[0].lag == 0 {
            break;
        }
        if status[0].position != last.0 {
            last = (status[0].position, Instant::now());
        }
        assert!(
            last.1.elapsed() < Duration::from_secs(30),
            "the manager's checkpoint stood still for 30 s: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for sku in ["A", "B", "C"] {
        let expected = reserved_by_orders.get(sku).copied().unwrap_or(0);
        assert_eq!(
            stock(&world, sku).await,
            (40, expected, 40 - expected),
            "stock of {sku} equals what the orders imply"
        );
    }
    running.stop().await;
}
