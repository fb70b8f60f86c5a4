//! Shipment: created for a paid order, dispatched, delivered or cancelled.

mod support;

use cqrs_es::test::TestFramework;
use domain::shipment::{
    Shipment, ShipmentCommand as C, ShipmentError as E, ShipmentEvent as Ev, ShipmentLine,
    ShipmentStatus as S,
};
use domain::values::{Carrier, OrderId, ShipmentId, TrackingNumber};
use domain::{DomainError, Problem};
use support::*;

type Test = TestFramework<Shipment>;

fn order_id() -> OrderId {
    id(10)
}

fn lines() -> Vec<ShipmentLine> {
    vec![ShipmentLine {
        sku: sku("BOTTLE"),
        product_name: product_name("Bottle"),
        quantity: qty(2),
    }]
}

fn created() -> Ev {
    Ev::ShipmentCreated {
        shipment_id: ShipmentId::for_order(order_id()),
        order_id: order_id(),
        address_id: id(100),
        address: address("Berlin"),
        lines: lines(),
        created_at: at(),
    }
}

fn create() -> C {
    C::Create {
        shipment_id: ShipmentId::for_order(order_id()),
        order_id: order_id(),
        address_id: id(100),
        address: address("Berlin"),
        lines: lines(),
    }
}

fn dispatch() -> C {
    C::Dispatch {
        carrier: Carrier::parse("DHL").expect("carrier"),
        tracking_number: TrackingNumber::parse("JJD1").expect("tracking"),
    }
}

fn dispatched() -> Ev {
    Ev::ShipmentDispatched {
        carrier: Carrier::parse("DHL").expect("carrier"),
        tracking_number: TrackingNumber::parse("JJD1").expect("tracking"),
        dispatched_at: at(),
    }
}

fn history(status: S) -> Vec<Ev> {
    match status {
        S::Pending => vec![created()],
        S::Dispatched => vec![created(), dispatched()],
        S::Delivered => vec![
            created(),
            dispatched(),
            Ev::ShipmentDelivered { delivered_at: at() },
        ],
        S::Cancelled => vec![created(), Ev::ShipmentCancelled { cancelled_at: at() }],
    }
}

#[test]
fn the_shipment_id_is_derived_from_the_order() {
    assert_eq!(
        ShipmentId::for_order(order_id()),
        ShipmentId::for_order(order_id())
    );
    assert_ne!(
        ShipmentId::for_order(order_id()),
        ShipmentId::for_order(id(11))
    );
    assert_eq!(
        ShipmentId::for_order(order_id())
            .as_uuid()
            .get_version_num(),
        5
    );
}

#[test]
fn is_created_once_for_its_order() {
    Test::with(clock())
        .given_no_previous_events()
        .when(create())
        .then_expect_events(vec![created()]);
    Test::with(clock())
        .given(vec![created()])
        .when(create())
        .then_expect_events(vec![]);
    let wrong = C::Create {
        shipment_id: id(77),
        order_id: order_id(),
        address_id: id(100),
        address: address("Berlin"),
        lines: lines(),
    };
    let error = E::NotTheOrdersShipment {
        shipment_id: id(77),
        order_id: order_id(),
    };
    assert_eq!(error.problem(), Problem::ValidationFailed);
    Test::with(clock())
        .given_no_previous_events()
        .when(wrong)
        .then_expect_error(error);
}

#[test]
fn dispatches_only_when_pending() {
    Test::with(clock())
        .given(history(S::Pending))
        .when(dispatch())
        .then_expect_events(vec![dispatched()]);
    for from in [S::Dispatched, S::Delivered, S::Cancelled] {
        Test::with(clock())
            .given(history(from))
            .when(dispatch())
            .then_expect_error(E::InvalidTransition {
                from,
                command: "dispatch",
            });
    }
}

#[test]
fn delivers_only_when_dispatched() {
    Test::with(clock())
        .given(history(S::Dispatched))
        .when(C::Deliver)
        .then_expect_events(vec![Ev::ShipmentDelivered { delivered_at: at() }]);
    for from in [S::Pending, S::Delivered, S::Cancelled] {
        Test::with(clock())
            .given(history(from))
            .when(C::Deliver)
            .then_expect_error(E::InvalidTransition {
                from,
                command: "deliver",
            });
    }
}

#[test]
fn cancels_only_when_pending() {
    Test::with(clock())
        .given(history(S::Pending))
        .when(C::Cancel)
        .then_expect_events(vec![Ev::ShipmentCancelled { cancelled_at: at() }]);
    Test::with(clock())
        .given(history(S::Cancelled))
        .when(C::Cancel)
        .then_expect_events(vec![]);
    for from in [S::Dispatched, S::Delivered] {
        Test::with(clock())
            .given(history(from))
            .when(C::Cancel)
            .then_expect_error(E::InvalidTransition {
                from,
                command: "cancel",
            });
    }
}

#[test]
fn commands_on_an_unknown_shipment_are_not_found() {
    for command in [dispatch(), C::Deliver, C::Cancel] {
        let error = E::NotFound;
        assert_eq!(error.problem(), Problem::NotFound);
        Test::with(clock())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(error);
    }
}
