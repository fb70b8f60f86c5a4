//! Product: catalog entry and stock totals.

mod support;

use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use domain::product::{Product, ProductCommand as C, ProductError as E, ProductEvent as Ev};
use domain::values::{OrderId, StockLevel};
use domain::{DomainError, Problem};
use support::*;

type Test = TestFramework<Product>;

fn defined(stock: u32) -> Ev {
    Ev::ProductDefined {
        sku: sku("BOTTLE"),
        name: product_name("Bottle"),
        price: eur("12.50"),
        stock,
    }
}

fn order(n: u128) -> OrderId {
    id(n)
}

fn state(events: Vec<Ev>) -> Product {
    let mut product = Product::default();
    for event in events {
        product.apply(event);
    }
    product
}

#[test]
fn defines_a_product_once() {
    Test::with(())
        .given_no_previous_events()
        .when(C::Define {
            sku: sku("BOTTLE"),
            name: product_name("Bottle"),
            price: eur("12.50"),
            stock: StockLevel::new(10).expect("stock"),
        })
        .then_expect_events(vec![defined(10)]);
    let error = E::SkuTaken(sku("BOTTLE"));
    assert_eq!(error.problem(), Problem::SkuTaken);
    Test::with(())
        .given(vec![defined(10)])
        .when(C::Define {
            sku: sku("BOTTLE"),
            name: product_name("Other"),
            price: eur("1"),
            stock: StockLevel::new(0).expect("stock"),
        })
        .then_expect_error(error);
}

#[test]
fn commands_on_an_unknown_product_are_not_found() {
    for command in [
        C::ChangePrice { price: eur("1") },
        C::Restock { quantity: qty(1) },
        C::Reserve {
            order_id: order(1),
            quantity: qty(1),
        },
        C::Release {
            order_id: order(1),
            quantity: qty(1),
        },
        C::Ship {
            order_id: order(1),
            quantity: qty(1),
        },
    ] {
        Test::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(E::NotFound);
    }
}

#[test]
fn changes_price_and_restocks() {
    Test::with(())
        .given(vec![defined(10)])
        .when(C::ChangePrice {
            price: eur("13.90"),
        })
        .then_expect_events(vec![Ev::ProductPriceChanged {
            price: eur("13.90"),
        }]);
    Test::with(())
        .given(vec![defined(10)])
        .when(C::ChangePrice {
            price: eur("12.50"),
        })
        .then_expect_events(vec![]);
    Test::with(())
        .given(vec![defined(10)])
        .when(C::Restock { quantity: qty(5) })
        .then_expect_events(vec![Ev::ProductRestocked { quantity: qty(5) }]);
    let product = state(vec![defined(10), Ev::ProductRestocked { quantity: qty(5) }]);
    assert_eq!(
        (product.on_hand(), product.reserved(), product.available()),
        (15, 0, 15)
    );
}

#[test]
fn reserves_only_what_is_available() {
    Test::with(())
        .given(vec![defined(3)])
        .when(C::Reserve {
            order_id: order(1),
            quantity: qty(3),
        })
        .then_expect_events(vec![Ev::StockReserved {
            order_id: order(1),
            quantity: qty(3),
        }]);
    let error = E::InsufficientStock {
        sku: sku("BOTTLE"),
        requested: 2,
        available: 1,
    };
    assert_eq!(error.problem(), Problem::InvalidTransition);
    Test::with(())
        .given(vec![
            defined(3),
            Ev::StockReserved {
                order_id: order(1),
                quantity: qty(2),
            },
        ])
        .when(C::Reserve {
            order_id: order(2),
            quantity: qty(2),
        })
        .then_expect_error(error);
}

#[test]
fn release_and_ship_take_back_only_what_is_reserved() {
    let reserved = Ev::StockReserved {
        order_id: order(1),
        quantity: qty(2),
    };
    Test::with(())
        .given(vec![defined(10), reserved.clone()])
        .when(C::Release {
            order_id: order(1),
            quantity: qty(2),
        })
        .then_expect_events(vec![Ev::StockReleased {
            order_id: order(1),
            quantity: 2,
        }]);
    Test::with(())
        .given(vec![defined(10), reserved.clone()])
        .when(C::Ship {
            order_id: order(1),
            quantity: qty(2),
        })
        .then_expect_events(vec![Ev::StockShipped {
            order_id: order(1),
            quantity: 2,
        }]);
    // More than is reserved (a release repeated by mistake) is refused, not clamped.
    let released = Ev::StockReleased {
        order_id: order(1),
        quantity: 2,
    };
    let error = E::NotReserved {
        sku: sku("BOTTLE"),
        requested: 2,
        reserved: 0,
    };
    assert_eq!(error.problem(), Problem::InvalidTransition);
    Test::with(())
        .given(vec![defined(10), reserved.clone(), released])
        .when(C::Release {
            order_id: order(1),
            quantity: qty(2),
        })
        .then_expect_error(error.clone());
    Test::with(())
        .given(vec![defined(10)])
        .when(C::Ship {
            order_id: order(7),
            quantity: qty(2),
        })
        .then_expect_error(error);
}

#[test]
fn state_stays_the_same_size_however_many_orders_it_served() {
    let mut events = vec![defined(500_000)];
    for n in 0..1_000 {
        events.push(Ev::StockReserved {
            order_id: order(n),
            quantity: qty(1),
        });
        events.push(Ev::StockShipped {
            order_id: order(n),
            quantity: 1,
        });
    }
    let busy = serde_json::to_string(&state(events)).expect("serialize");
    let new = serde_json::to_string(&state(vec![defined(500_000)])).expect("serialize");
    assert_eq!(busy.len(), new.len(), "{busy} vs {new}");
}

#[test]
fn stock_numbers_follow_reservations() {
    let product = state(vec![
        defined(10),
        Ev::StockReserved {
            order_id: order(1),
            quantity: qty(2),
        },
        Ev::StockReserved {
            order_id: order(2),
            quantity: qty(3),
        },
    ]);
    assert_eq!(
        (product.on_hand(), product.reserved(), product.available()),
        (10, 5, 5)
    );
    let product = state(vec![
        defined(10),
        Ev::StockReserved {
            order_id: order(1),
            quantity: qty(2),
        },
        Ev::StockReserved {
            order_id: order(2),
            quantity: qty(3),
        },
        Ev::StockShipped {
            order_id: order(1),
            quantity: 2,
        },
        Ev::StockReleased {
            order_id: order(2),
            quantity: 3,
        },
    ]);
    assert_eq!(
        (product.on_hand(), product.reserved(), product.available()),
        (8, 0, 8)
    );
}
