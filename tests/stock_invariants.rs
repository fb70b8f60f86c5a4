//! Stock accounting through the whole flow (command API and order fulfilment in one
//! process): the races between cancel and dispatch, reactions repeated after a restock,
//! and a randomised run of concurrent clients while the projector runtime is killed and
//! restarted, checked against what the log implies.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use domain::values::{OrderId, ShipmentId};
use domain::{Order, OrderEvent, OrderStatus, Product, ProductEvent, Shipment, ShipmentStatus};
use serde_json::{json, Value};
use support::platform::Platform;

/// Every test here ends within this, or fails.
const LIMIT: Duration = Duration::from_secs(300);

fn shipment_of(order: &str) -> String {
    let order: OrderId = order.parse().expect("order id");
    ShipmentId::for_order(order).to_string()
}

async fn confirmed(p: &Platform, order: &str) -> Order {
    p.until::<Order, _>(order, "left PLACED", |o| {
        o.status() != Some(OrderStatus::Placed)
    })
    .await
}

async fn shipment_pending(p: &Platform, order: &str) {
    p.until::<Shipment, _>(&shipment_of(order), "became PENDING", |s| {
        s.status() == Some(ShipmentStatus::Pending)
    })
    .await;
}

async fn cancel(p: &Platform, order: &str) -> (u16, Value) {
    p.post(
        &format!("/orders/{order}/cancel"),
        json!({"reason": "changed my mind"}),
    )
    .await
}

async fn dispatch(p: &Platform, order: &str) -> (u16, Value) {
    p.post(
        &format!("/shipments/{}/dispatch", shipment_of(order)),
        json!({"carrier": "DHL", "tracking_number": format!("JJD-{order}")}),
    )
    .await
}

/// Cancel and dispatch sent at once: exactly one wins, the other is `409
/// invalid-transition`. `true` when the cancel won.
async fn race_cancel_and_dispatch(p: &Platform, order: &str) -> bool {
    let ((cancel_status, cancel_body), (dispatch_status, dispatch_body)) =
        tokio::join!(cancel(p, order), dispatch(p, order));
    let context =
        format!("cancel {cancel_status} {cancel_body}, dispatch {dispatch_status} {dispatch_body}");
    let (winner, loser_body) = match (cancel_status, dispatch_status) {
        (200, 409) => (true, dispatch_body),
        (409, 200) => (false, cancel_body),
        _ => panic!("one of cancel and dispatch must win: {context}"),
    };
    assert_eq!(
        loser_body["type"], "/problems/invalid-transition",
        "{context}"
    );
    winner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_and_dispatch_of_a_paid_order_race_to_one_winner() {
    tokio::time::timeout(LIMIT, async {
        let p = Platform::new().await;
        let projectors = p.projectors().await;
        p.product("RACE", 1_000).await;
        let customer = p.customer().await;
        let mut cancelled = 0;
        let mut orders = Vec::new();
        for _ in 0..12 {
            let order = p.place(&customer, &[("RACE", 2)]).await;
            assert_eq!(
                confirmed(&p, &order).await.status(),
                Some(OrderStatus::Confirmed)
            );
            p.pay(&order).await;
            shipment_pending(&p, &order).await;
            let cancel_won = race_cancel_and_dispatch(&p, &order).await;
            cancelled += usize::from(cancel_won);
            orders.push((order, cancel_won));
        }
        p.settled().await;
        for (order, cancel_won) in &orders {
            let state = p.load::<Order>(order).await;
            let shipment = p.load::<Shipment>(&shipment_of(order)).await;
            if *cancel_won {
                assert_eq!(state.status(), Some(OrderStatus::Cancelled));
                assert_eq!(shipment.status(), Some(ShipmentStatus::Cancelled));
            } else {
                assert_eq!(state.status(), Some(OrderStatus::Shipped));
                assert_eq!(shipment.status(), Some(ShipmentStatus::Dispatched));
            }
        }
        let shipped = 2 * (orders.len() - cancelled) as u64;
        let product = p.load::<Product>("RACE").await;
        assert_eq!(
            (product.on_hand(), product.reserved()),
            (1_000 - shipped, 0)
        );
        projectors.stop().await;
    })
    .await
    .expect("the test hung");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rejected_order_reacted_to_again_after_a_restock_holds_no_stock() {
    tokio::time::timeout(LIMIT, async {
        let p = Platform::new().await;
        let projectors = p.projectors().await;
        p.product("SHORT", 1).await;
        let customer = p.customer().await;
        let order = p.place(&customer, &[("SHORT", 2)]).await;
        assert_eq!(
            confirmed(&p, &order).await.status(),
            Some(OrderStatus::Rejected)
        );
        p.ok("/products/SHORT/restock", json!({"quantity": 5}))
            .await;
        p.settled().await;
        projectors.stop().await;

        // As after a crash before the checkpoint, or a retried batch: every event is
        // delivered to the manager again, now with stock for the rejected order.
        sqlx::query(
            "UPDATE projection_checkpoints SET transaction_id = 0, position = 0
             WHERE name = 'order-fulfillment'",
        )
        .execute(&p.db.pool)
        .await
        .expect("reset");
        let projectors = p.projectors().await;
        p.settled().await;
        let product = p.load::<Product>("SHORT").await;
        assert_eq!(
            (product.on_hand(), product.reserved(), product.available()),
            (6, 0, 6)
        );
        assert_eq!(
            p.load::<Order>(&order).await.status(),
            Some(OrderStatus::Rejected)
        );
        projectors.stop().await;
    })
    .await
    .expect("the test hung");
}

const SKUS: &[&str] = &["SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E"];
const INITIAL_STOCK: u64 = 40;

/// One client: places orders and drives each one somewhere at random.
async fn client(p: Arc<Platform>, seed: u64, orders: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let customer = p.customer().await;
    for _ in 0..orders {
        let mut skus = SKUS.to_vec();
        rng.shuffle(&mut skus);
        let lines: Vec<(&str, u32)> = skus[..rng.usize(1..=3)]
            .iter()
            .map(|sku| (*sku, rng.u32(1..=4)))
            .collect();
        let order = p.place(&customer, &lines).await;
        match rng.u8(0..10) {
            // Cancelled while the manager may be reacting to its placement.
            0 => {
                let (status, body) = cancel(&p, &order).await;
                assert!(
                    status == 200 || body["type"] == "/problems/invalid-transition",
                    "{status} {body}"
                );
            }
            1 => {
                let sku = SKUS[rng.usize(..SKUS.len())];
                let quantity = rng.u32(1..=10);
                p.ok(
                    &format!("/products/{sku}/restock"),
                    json!({"quantity": quantity}),
                )
                .await;
            }
            _ => {
                if confirmed(&p, &order).await.status() != Some(OrderStatus::Confirmed) {
                    continue;
                }
                if rng.u8(0..8) == 0 {
                    p.ok(&format!("/orders/{order}/cancel"), json!({"reason": "no"}))
                        .await;
                    continue;
                }
                let (status, body) = p.pay(&order).await;
                assert_eq!(status, 200, "{body}");
                shipment_pending(&p, &order).await;
                match rng.u8(0..4) {
                    0 => {
                        p.ok(&format!("/orders/{order}/cancel"), json!({"reason": "no"}))
                            .await;
                    }
                    1 => {
                        race_cancel_and_dispatch(&p, &order).await;
                    }
                    _ => {
                        let (status, body) = dispatch(&p, &order).await;
                        assert_eq!(status, 200, "{body}");
                        if rng.bool() {
                            p.ok(
                                &format!("/shipments/{}/deliver", shipment_of(&order)),
                                json!({}),
                            )
                            .await;
                        }
                    }
                }
            }
        }
    }
}

/// Every aggregate of `aggregate_type`, folded from all its events (no snapshot).
async fn fold_all<A, E>(
    p: &Platform,
    aggregate_type: &str,
) -> (BTreeMap<String, A>, Vec<(String, E)>)
where
    A: cqrs_es::Aggregate<Event = E>,
    E: serde::de::DeserializeOwned + Clone,
{
    let rows: Vec<(String, Value)> = sqlx::query_as(
        "SELECT aggregate_id, payload FROM events WHERE aggregate_type = $1 ORDER BY position",
    )
    .bind(aggregate_type)
    .fetch_all(&p.db.pool)
    .await
    .expect("events");
    let mut all: BTreeMap<String, A> = BTreeMap::new();
    let mut events = Vec::new();
    for (id, payload) in rows {
        let event: E = serde_json::from_value(payload).expect("event");
        all.entry(id.clone()).or_default().apply(event.clone());
        events.push((id, event));
    }
    (all, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stock_invariants_hold_with_concurrent_clients_and_a_crashing_manager() {
    let seed = std::env::var("OMS_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("OMS_TEST_SEED={seed}");
    tokio::time::timeout(LIMIT, async {
        let p = Arc::new(Platform::new().await);
        for sku in SKUS {
            p.product(sku, INITIAL_STOCK as i64).await;
        }
        let done = Arc::new(AtomicBool::new(false));
        let chaos = {
            let (p, done) = (p.clone(), done.clone());
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
                let mut kills = 0;
                while !done.load(Ordering::Relaxed) {
                    let projectors = p.projectors().await;
                    tokio::time::sleep(Duration::from_millis(rng.u64(20..300))).await;
                    projectors.kill().await;
                    kills += 1;
                }
                kills
            })
        };
        let clients: Vec<_> = (0..8)
            .map(|n| tokio::spawn(client(p.clone(), seed.wrapping_add(n), 20)))
            .collect();
        for c in clients {
            c.await.expect("client");
        }
        done.store(true, Ordering::Relaxed);
        let kills = chaos.await.expect("chaos");
        assert!(kills > 3, "the runtime was killed only {kills} times");
        let projectors = p.projectors().await;
        p.settled().await;
        projectors.stop().await;

        let (orders, _) = fold_all::<Order, OrderEvent>(&p, "Order").await;
        let (shipments, _) = fold_all::<Shipment, domain::ShipmentEvent>(&p, "Shipment").await;
        let (products, stock_events) = fold_all::<Product, ProductEvent>(&p, "Product").await;

        // Per order and sku: what its stock events add up to.
        let mut held: HashMap<(OrderId, String), i64> = HashMap::new();
        let mut shipped_of: HashMap<(OrderId, String), i64> = HashMap::new();
        let mut restocked: HashMap<String, u64> = HashMap::new();
        for (sku, event) in &stock_events {
            match event {
                ProductEvent::StockReserved { order_id, quantity } => {
                    *held.entry((*order_id, sku.clone())).or_default() += i64::from(quantity.get());
                }
                ProductEvent::StockReleased { order_id, quantity } => {
                    *held.entry((*order_id, sku.clone())).or_default() -= i64::from(*quantity);
                }
                ProductEvent::StockShipped { order_id, quantity } => {
                    *held.entry((*order_id, sku.clone())).or_default() -= i64::from(*quantity);
                    *shipped_of.entry((*order_id, sku.clone())).or_default() +=
                        i64::from(*quantity);
                }
                ProductEvent::ProductRestocked { quantity } => {
                    *restocked.entry(sku.clone()).or_default() += u64::from(quantity.get());
                }
                _ => {}
            }
        }
        let mut reserved: HashMap<String, u64> = HashMap::new();
        let mut shipped: HashMap<String, u64> = HashMap::new();
        let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
        for (id, order) in &orders {
            let status = order.status().expect("placed");
            *statuses.entry(status.as_str()).or_default() += 1;
            assert_ne!(
                status,
                OrderStatus::Placed,
                "order {id} was never reacted to"
            );
            let history: Vec<OrderStatus> = order.history().iter().map(|c| c.status).collect();
            assert!(
                !(history.contains(&OrderStatus::Cancelled)
                    && history.contains(&OrderStatus::Shipped)),
                "order {id} was cancelled and shipped: {history:?}"
            );
            let order_id: OrderId = id.parse().expect("id");
            for line in order.lines() {
                let sku = line.sku.to_string();
                let quantity = i64::from(line.quantity.get());
                let key = (order_id, sku.clone());
                let holds = matches!(status, OrderStatus::Confirmed | OrderStatus::Paid);
                let left = matches!(status, OrderStatus::Shipped | OrderStatus::Delivered);
                assert_eq!(
                    held.get(&key).copied().unwrap_or(0),
                    if holds { quantity } else { 0 },
                    "order {id} ({status}) holds the wrong stock of {sku}"
                );
                assert_eq!(
                    shipped_of.get(&key).copied().unwrap_or(0),
                    if left { quantity } else { 0 },
                    "order {id} ({status}) shipped the wrong stock of {sku}"
                );
                if holds {
                    *reserved.entry(sku.clone()).or_default() += line.quantity.get() as u64;
                }
                if left {
                    *shipped.entry(sku).or_default() += line.quantity.get() as u64;
                }
            }
        }
        for (id, shipment) in &shipments {
            if matches!(
                shipment.status(),
                Some(ShipmentStatus::Dispatched | ShipmentStatus::Delivered)
            ) {
                let order = shipment.order_id().expect("created").to_string();
                assert_ne!(
                    orders[&order].status(),
                    Some(OrderStatus::Cancelled),
                    "shipment {id} left for a cancelled order"
                );
            }
        }
        for sku in SKUS {
            let expected_on_hand = INITIAL_STOCK + restocked.get(*sku).copied().unwrap_or(0)
                - shipped.get(*sku).copied().unwrap_or(0);
            let expected_reserved = reserved.get(*sku).copied().unwrap_or(0);
            let folded = &products[*sku];
            let loaded = p.load::<Product>(sku).await;
            assert_eq!(
                &loaded, folded,
                "{sku}: the snapshot path differs from a full fold"
            );
            assert_eq!(
                (loaded.on_hand(), loaded.reserved()),
                (expected_on_hand, expected_reserved),
                "{sku}: (on_hand, reserved)"
            );
            assert!(
                loaded.reserved() <= loaded.on_hand(),
                "{sku}: available below zero"
            );
            let (on_hand, reserved): (i64, i64) =
                sqlx::query_as("SELECT on_hand, reserved FROM products WHERE sku = $1")
                    .bind(sku)
                    .fetch_one(&p.db.pool)
                    .await
                    .expect("products row");
            assert_eq!(
                (on_hand as u64, reserved as u64),
                (expected_on_hand, expected_reserved),
                "{sku}: the products read model"
            );
        }
        eprintln!(
            "{} orders by final status: {statuses:?}; runtime killed {kills} times",
            orders.len()
        );
        assert!(
            statuses.len() >= 5,
            "the run should reach most statuses: {statuses:?}"
        );
    })
    .await
    .expect("the test hung");
}
