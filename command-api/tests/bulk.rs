//! Commands in bulk (`command_api::bulk`): each answers what its route answers, a batch
//! commits in one transaction, and a batch that cannot commit whole runs its commands one
//! by one.

mod support;

use std::sync::Arc;

use command_api::bulk::{Answers, Bulk};
use command_api::AppState;
use domain::clock::{SharedClock, SystemClock};
use domain::input::{
    AddAddressInput, CancelOrderInput, DefineProductInput, MoneyInput, OrderLineInput,
    PlaceOrderInput, RegisterCustomerInput,
};
use domain::order::OrderCommand;
use domain::values::{OrderId, ShipmentId};
use domain::Order;
use support::Api;

fn bulk(api: &Api) -> Bulk {
    let clock: SharedClock = Arc::new(SystemClock);
    Bulk::new(AppState::new(api.db.request_log(), clock))
}

fn registration(name: &str, email: &str) -> RegisterCustomerInput {
    RegisterCustomerInput {
        name: Some(name.into()),
        email: Some(email.into()),
    }
}

fn address(city: &str) -> AddAddressInput {
    AddAddressInput {
        line1: Some("Hauptstraße 1".into()),
        city: Some(city.into()),
        postal_code: Some("10115".into()),
        country: Some("DE".into()),
        ..AddAddressInput::default()
    }
}

fn product(sku: &str) -> DefineProductInput {
    DefineProductInput {
        sku: Some(sku.into()),
        name: Some(format!("Product {sku}")),
        price: Some(MoneyInput {
            amount: Some("2.50".into()),
            currency: Some("EUR".into()),
        }),
        stock: Some(10),
    }
}

/// Each answer's status and problem slug (`-` for a success).
fn outcomes(answers: &Answers) -> Vec<(u16, &'static str)> {
    answers
        .iter()
        .map(|answer| match answer {
            Ok(accepted) => (accepted.status.as_u16(), "-"),
            Err(error) => (error.status().as_u16(), error.problem().slug),
        })
        .collect()
}

fn field(answers: &Answers, n: usize, key: &str) -> String {
    let accepted = answers[n].as_ref().expect("accepted");
    accepted.field(key).expect("field").to_owned()
}

fn number(answers: &Answers, n: usize, key: &str) -> i64 {
    let accepted = answers[n].as_ref().expect("accepted");
    accepted.body[key].as_i64().expect("number")
}

#[tokio::test]
async fn each_command_answers_as_its_route_and_a_batch_is_one_transaction() {
    let api = Api::new().await;
    let bulk = bulk(&api);

    let registered = bulk
        .register_customers(vec![
            registration("Ada", "ada@example.com"),
            registration("Nobody", "not an email"),
            registration("Grace", "grace@example.com"),
        ])
        .await
        .expect("batch");
    assert_eq!(
        outcomes(&registered),
        [(201, "-"), (422, "validation-failed"), (201, "-")]
    );
    let (ada, grace) = (field(&registered, 0, "id"), field(&registered, 2, "id"));
    assert_eq!(number(&registered, 0, "version"), 1);
    let transactions: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT transaction_id FROM events WHERE aggregate_type = 'Customer'",
    )
    .fetch_all(&api.db.pool)
    .await
    .expect("transactions");
    assert_eq!(transactions.len(), 1, "one transaction for the batch");

    // Two addresses of one customer in one batch: the second is decided on the first.
    let added = bulk
        .add_addresses(vec![
            (ada.clone(), address("Berlin")),
            (ada.clone(), address("Hamburg")),
            (uuid::Uuid::new_v4().to_string(), address("Bonn")),
            ("not-a-uuid".into(), address("Köln")),
            (grace.clone(), address("München")),
        ])
        .await
        .expect("batch");
    assert_eq!(
        outcomes(&added),
        [
            (201, "-"),
            (201, "-"),
            (404, "not-found"),
            (404, "not-found"),
            (201, "-")
        ]
    );
    assert_eq!(
        (number(&added, 0, "version"), number(&added, 1, "version")),
        (2, 3)
    );
    // Each answer's position is its own event's.
    let position: i64 =
        sqlx::query_scalar("SELECT position FROM events WHERE aggregate_id = $1 AND sequence = 3")
            .bind(&ada)
            .fetch_one(&api.db.pool)
            .await
            .expect("position");
    assert_eq!(number(&added, 1, "position"), position);
    let home = field(&added, 0, "address_id");

    let defined = bulk
        .define_products(vec![product("MUG"), product("MUG"), product("TEA")])
        .await
        .expect("batch");
    assert_eq!(
        outcomes(&defined),
        [(201, "-"), (409, "sku-taken"), (201, "-")]
    );

    let line = |sku: &str| OrderLineInput {
        sku: Some(sku.into()),
        quantity: Some(2),
    };
    let placed = bulk
        .place_orders(vec![
            PlaceOrderInput {
                customer_id: Some(ada.clone()),
                shipping_address_id: Some(home.clone()),
                lines: Some(vec![line("MUG"), line("TEA")]),
            },
            PlaceOrderInput {
                customer_id: Some(ada.clone()),
                shipping_address_id: Some(home.clone()),
                lines: Some(vec![line("NOPE")]),
            },
            PlaceOrderInput {
                customer_id: Some(grace.clone()),
                shipping_address_id: Some(home),
                lines: Some(vec![line("MUG")]),
            },
        ])
        .await
        .expect("batch");
    assert_eq!(
        outcomes(&placed),
        [(201, "-"), (422, "unknown-sku"), (422, "unknown-address")]
    );
    let order = field(&placed, 0, "id");
    let payload = &api.payloads(&order).await[0]["OrderPlaced"];
    assert_eq!(payload["lines"][0]["product_name"], "Product MUG");
    assert_eq!(payload["total"]["amount"], "10.00");

    // Every event names the open service's caller, and each command correlates alone.
    let (actors, correlations): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT metadata->>'actor'), count(DISTINCT metadata->>'correlation_id')
         FROM events",
    )
    .fetch_one(&api.db.pool)
    .await
    .expect("metadata");
    assert_eq!((actors, correlations), (1, api.event_count().await));
}

#[tokio::test]
async fn a_batch_that_cannot_commit_whole_runs_its_commands_one_by_one() {
    let api = Api::new().await;
    let bulk = bulk(&api);

    // The same email twice in one batch: each is free when decided, so the batch's claim
    // fails; one by one, the first takes it and the second is refused.
    let registered = bulk
        .register_customers(vec![
            registration("Ada", "ada@example.com"),
            registration("Ada Again", "ADA@example.com"),
            registration("Grace", "grace@example.com"),
        ])
        .await
        .expect("batch");
    assert_eq!(
        outcomes(&registered),
        [(201, "-"), (409, "email-taken"), (201, "-")]
    );
    assert_eq!(api.event_count().await, 2);

    // An order's fate claimed by another command (its shipment dispatched) while the
    // batch decided: the batch's cancellation of it is refused alone.
    api.product("MUG", "2.50", "EUR", 10).await;
    let clock: SharedClock = Arc::new(SystemClock);
    let mut orders = Vec::new();
    for _ in 0..2 {
        let body = api
            .order_body(serde_json::json!([{"sku": "MUG", "quantity": 1}]))
            .await;
        let order = api.post("/orders", body).await.expect(201).id();
        api.run::<Order>(&order, OrderCommand::Confirm, clock.clone())
            .await;
        orders.push(order);
    }
    let dispatched: OrderId = orders[1].parse().expect("uuid");
    sqlx::query("INSERT INTO order_fates (shipment_id, fate) VALUES ($1, 'DISPATCHED')")
        .bind(ShipmentId::for_order(dispatched).as_uuid())
        .execute(&api.db.pool)
        .await
        .expect("claim");
    let reason = || CancelOrderInput {
        reason: Some("changed my mind".into()),
    };
    let cancelled = bulk
        .cancel_orders(vec![
            (orders[0].clone(), reason()),
            (orders[1].clone(), reason()),
        ])
        .await
        .expect("batch");
    assert_eq!(
        outcomes(&cancelled),
        [(200, "-"), (409, "invalid-transition")]
    );
    assert_eq!(api.count_of(&orders[0], "OrderCancelled").await, 1);
    assert_eq!(api.count_of(&orders[1], "OrderCancelled").await, 0);
}
