//! Order: placement with captured prices, and every transition of its life.

mod support;

use std::collections::BTreeMap;

use cqrs_es::test::TestFramework;
use domain::order::{
    CustomerFacts, Order, OrderCommand as C, OrderError as E, OrderEvent as Ev, OrderLine,
    OrderStatus, PlaceOrder, ProductFacts, RequestedLine,
};
use domain::values::{
    AddressId, CustomerId, OrderId, PaymentMethod, PaymentReference, Reason, ShipmentId,
};
use domain::{DomainError, Problem};
use support::*;

type Test = TestFramework<Order>;

fn order_id() -> OrderId {
    id(10)
}
fn customer_id() -> CustomerId {
    id(1)
}
fn home() -> AddressId {
    id(100)
}

fn customer() -> CustomerFacts {
    CustomerFacts {
        customer_id: customer_id(),
        addresses: BTreeMap::from([(home(), address("Berlin"))]),
    }
}

fn catalog() -> BTreeMap<domain::values::Sku, ProductFacts> {
    BTreeMap::from([
        (
            sku("BOTTLE"),
            ProductFacts {
                name: product_name("Bottle"),
                price: eur("12.50"),
            },
        ),
        (
            sku("CUP"),
            ProductFacts {
                name: product_name("Cup"),
                price: eur("3.20"),
            },
        ),
        (
            sku("HAT"),
            ProductFacts {
                name: product_name("Hat"),
                price: usd("20"),
            },
        ),
        (
            sku("CAR"),
            ProductFacts {
                name: product_name("Car"),
                price: eur("1000000"),
            },
        ),
    ])
}

fn place(lines: &[(&str, i64)]) -> PlaceOrder {
    PlaceOrder {
        order_id: order_id(),
        customer_id: customer_id(),
        shipping_address_id: home(),
        lines: lines
            .iter()
            .map(|(s, q)| RequestedLine {
                sku: sku(s),
                quantity: qty(*q),
            })
            .collect(),
        customer: Some(customer()),
        products: catalog(),
    }
}

fn line(s: &str, product: &str, q: i64, price: &str) -> OrderLine {
    OrderLine {
        sku: sku(s),
        product_name: product_name(product),
        quantity: qty(q),
        unit_price: eur(price),
    }
}

fn placed() -> Ev {
    Ev::OrderPlaced {
        order_id: order_id(),
        customer_id: customer_id(),
        shipping_address_id: home(),
        shipping_address: address("Berlin"),
        lines: vec![
            line("BOTTLE", "Bottle", 2, "12.50"),
            line("CUP", "Cup", 1, "3.20"),
        ],
        total: eur("28.20"),
        placed_at: at(),
    }
}

fn paid() -> Ev {
    Ev::OrderPaid {
        amount: eur("28.20"),
        method: PaymentMethod::parse("card").expect("method"),
        reference: PaymentReference::parse("psp-1").expect("reference"),
        paid_at: at(),
    }
}

fn reason(s: &str) -> Reason {
    Reason::parse(s).expect("reason")
}

/// The events that bring an order to `status`.
fn history(status: OrderStatus) -> Vec<Ev> {
    let confirmed = Ev::OrderConfirmed { at: at() };
    let shipped = Ev::OrderShipped {
        shipment_id: ShipmentId::for_order(order_id()),
        at: at(),
    };
    match status {
        OrderStatus::Placed => vec![placed()],
        OrderStatus::Confirmed => vec![placed(), confirmed],
        OrderStatus::Rejected => vec![
            placed(),
            Ev::OrderRejected {
                sku: sku("CUP"),
                reason: "x".into(),
                at: at(),
            },
        ],
        OrderStatus::Paid => vec![placed(), confirmed, paid()],
        OrderStatus::Shipped => vec![placed(), confirmed, paid(), shipped],
        OrderStatus::Delivered => vec![
            placed(),
            confirmed,
            paid(),
            shipped,
            Ev::OrderDelivered { at: at() },
        ],
        OrderStatus::Cancelled => vec![
            placed(),
            Ev::OrderCancelled {
                reason: reason("changed my mind"),
                at: at(),
            },
        ],
    }
}

const ALL: [OrderStatus; 7] = [
    OrderStatus::Placed,
    OrderStatus::Confirmed,
    OrderStatus::Rejected,
    OrderStatus::Paid,
    OrderStatus::Shipped,
    OrderStatus::Delivered,
    OrderStatus::Cancelled,
];

#[test]
fn places_with_captured_prices_merging_repeated_skus() {
    Test::with(clock())
        .given_no_previous_events()
        .when(C::Place(place(&[("BOTTLE", 1), ("CUP", 1), ("BOTTLE", 1)])))
        .then_expect_events(vec![placed()]);
}

#[test]
fn placement_checks_customer_address_skus_currency_and_limits() {
    let mut no_customer = place(&[("BOTTLE", 1)]);
    no_customer.customer = None;
    Test::with(clock())
        .given_no_previous_events()
        .when(C::Place(no_customer))
        .then_expect_error(E::UnknownCustomer(customer_id()));

    let mut other_customers_address = place(&[("BOTTLE", 1)]);
    other_customers_address.shipping_address_id = id(555);
    Test::with(clock())
        .given_no_previous_events()
        .when(C::Place(other_customers_address))
        .then_expect_error(E::UnknownAddress(id(555)));

    Test::with(clock())
        .given_no_previous_events()
        .when(C::Place(place(&[("BOTTLE", 1), ("NOPE", 1), ("GONE", 2)])))
        .then_expect_error(E::UnknownSku(vec![sku("NOPE"), sku("GONE")]));

    let mismatch = E::CurrencyMismatch {
        expected: domain::values::Currency::parse("EUR").expect("EUR"),
        found: domain::values::Currency::parse("USD").expect("USD"),
    };
    assert_eq!(mismatch.problem(), Problem::CurrencyMismatch);
    Test::with(clock())
        .given_no_previous_events()
        .when(C::Place(place(&[("BOTTLE", 1), ("HAT", 1)])))
        .then_expect_error(mismatch);

    for (lines, problem) in [
        (vec![], Problem::ValidationFailed),
        (vec![("CUP", 1); 101], Problem::ValidationFailed),
        (vec![("CUP", 600), ("CUP", 600)], Problem::ValidationFailed),
        (vec![("CAR", 2)], Problem::ValidationFailed),
    ] {
        let result = Test::with(clock())
            .given_no_previous_events()
            .when(C::Place(place(&lines)))
            .inspect_result();
        assert_eq!(
            result.expect_err("refused").problem(),
            problem,
            "{} lines",
            lines.len()
        );
    }
    // 100 lines is the limit, counted as sent (before merging).
    let result = Test::with(clock())
        .given_no_previous_events()
        .when(C::Place(place(&[("CUP", 1); 100])))
        .inspect_result();
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn only_a_placed_order_is_confirmed_or_rejected() {
    Test::with(clock())
        .given(history(OrderStatus::Placed))
        .when(C::Confirm)
        .then_expect_events(vec![Ev::OrderConfirmed { at: at() }]);
    Test::with(clock())
        .given(history(OrderStatus::Placed))
        .when(C::Reject { sku: sku("CUP") })
        .then_expect_events(vec![Ev::OrderRejected {
            sku: sku("CUP"),
            reason: "insufficient stock for sku CUP".into(),
            at: at(),
        }]);
    // Repeats from the fulfilment process change nothing.
    Test::with(clock())
        .given(history(OrderStatus::Confirmed))
        .when(C::Confirm)
        .then_expect_events(vec![]);
    Test::with(clock())
        .given(history(OrderStatus::Rejected))
        .when(C::Reject { sku: sku("CUP") })
        .then_expect_events(vec![]);
    for from in [
        OrderStatus::Rejected,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ] {
        Test::with(clock())
            .given(history(from))
            .when(C::Confirm)
            .then_expect_error(E::InvalidTransition {
                from,
                command: "confirm",
            });
    }
    for from in [
        OrderStatus::Confirmed,
        OrderStatus::Paid,
        OrderStatus::Cancelled,
    ] {
        Test::with(clock())
            .given(history(from))
            .when(C::Reject { sku: sku("CUP") })
            .then_expect_error(E::InvalidTransition {
                from,
                command: "reject",
            });
    }
}

#[test]
fn pays_only_a_confirmed_order_with_exactly_its_total() {
    let pay = |amount| C::Pay {
        amount,
        method: PaymentMethod::parse("card").expect("method"),
        reference: PaymentReference::parse("psp-1").expect("reference"),
    };
    Test::with(clock())
        .given(history(OrderStatus::Confirmed))
        .when(pay(eur("28.20")))
        .then_expect_events(vec![paid()]);
    let too_little = E::PaymentMismatch {
        expected: eur("28.20"),
        received: eur("28.19"),
    };
    assert_eq!(too_little.problem(), Problem::PaymentMismatch);
    Test::with(clock())
        .given(history(OrderStatus::Confirmed))
        .when(pay(eur("28.19")))
        .then_expect_error(too_little);
    Test::with(clock())
        .given(history(OrderStatus::Confirmed))
        .when(pay(usd("28.20")))
        .then_expect_error(E::PaymentMismatch {
            expected: eur("28.20"),
            received: usd("28.20"),
        });
    for from in ALL.into_iter().filter(|s| *s != OrderStatus::Confirmed) {
        let error = E::InvalidTransition {
            from,
            command: "pay",
        };
        assert_eq!(error.problem(), Problem::InvalidTransition);
        Test::with(clock())
            .given(history(from))
            .when(pay(eur("28.20")))
            .then_expect_error(error);
    }
}

#[test]
fn cancels_only_before_shipping() {
    for from in [
        OrderStatus::Placed,
        OrderStatus::Confirmed,
        OrderStatus::Paid,
    ] {
        Test::with(clock())
            .given(history(from))
            .when(C::Cancel {
                reason: reason("changed my mind"),
            })
            .then_expect_events(vec![Ev::OrderCancelled {
                reason: reason("changed my mind"),
                at: at(),
            }]);
    }
    for from in [
        OrderStatus::Rejected,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ] {
        Test::with(clock())
            .given(history(from))
            .when(C::Cancel {
                reason: reason("too late"),
            })
            .then_expect_error(E::InvalidTransition {
                from,
                command: "cancel",
            });
    }
}

#[test]
fn ships_a_paid_order_and_delivers_a_shipped_one() {
    let shipment_id = ShipmentId::for_order(order_id());
    Test::with(clock())
        .given(history(OrderStatus::Paid))
        .when(C::MarkShipped { shipment_id })
        .then_expect_events(vec![Ev::OrderShipped {
            shipment_id,
            at: at(),
        }]);
    Test::with(clock())
        .given(history(OrderStatus::Shipped))
        .when(C::MarkShipped { shipment_id })
        .then_expect_events(vec![]);
    Test::with(clock())
        .given(history(OrderStatus::Delivered))
        .when(C::MarkShipped { shipment_id })
        .then_expect_events(vec![]);
    for from in [
        OrderStatus::Placed,
        OrderStatus::Confirmed,
        OrderStatus::Rejected,
        OrderStatus::Cancelled,
    ] {
        Test::with(clock())
            .given(history(from))
            .when(C::MarkShipped { shipment_id })
            .then_expect_error(E::InvalidTransition {
                from,
                command: "mark-shipped",
            });
    }
    Test::with(clock())
        .given(history(OrderStatus::Shipped))
        .when(C::MarkDelivered)
        .then_expect_events(vec![Ev::OrderDelivered { at: at() }]);
    Test::with(clock())
        .given(history(OrderStatus::Delivered))
        .when(C::MarkDelivered)
        .then_expect_events(vec![]);
    for from in [
        OrderStatus::Placed,
        OrderStatus::Confirmed,
        OrderStatus::Paid,
        OrderStatus::Rejected,
        OrderStatus::Cancelled,
    ] {
        Test::with(clock())
            .given(history(from))
            .when(C::MarkDelivered)
            .then_expect_error(E::InvalidTransition {
                from,
                command: "mark-delivered",
            });
    }
}

#[test]
fn commands_on_an_unplaced_order_are_not_found_and_placing_twice_is_refused() {
    for command in [
        C::Confirm,
        C::MarkDelivered,
        C::Cancel {
            reason: reason("x"),
        },
    ] {
        Test::with(clock())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(E::NotFound);
    }
    Test::with(clock())
        .given(history(OrderStatus::Placed))
        .when(C::Place(place(&[("CUP", 1)])))
        .then_expect_error(E::InvalidTransition {
            from: OrderStatus::Placed,
            command: "place",
        });
}

#[test]
fn keeps_a_status_history_with_times_and_reasons() {
    let mut order = Order::default();
    for event in history(OrderStatus::Cancelled) {
        cqrs_es::Aggregate::apply(&mut order, event);
    }
    let history: Vec<(OrderStatus, Option<&str>)> = order
        .history()
        .iter()
        .map(|c| (c.status, c.reason.as_deref()))
        .collect();
    assert_eq!(
        history,
        [
            (OrderStatus::Placed, None),
            (OrderStatus::Cancelled, Some("changed my mind"))
        ]
    );
    assert!(order.history().iter().all(|c| c.at == at()));
    assert_eq!(order.total(), Some(eur("28.20")));
    assert_eq!(
        line("BOTTLE", "Bottle", 2, "12.50").line_total(),
        eur("25.00")
    );
}
