//! Customer: register, rename, change email, add addresses.

mod support;

use cqrs_es::test::TestFramework;
use domain::customer::{
    Customer, CustomerCommand as C, CustomerError as E, CustomerEvent as Ev, MAX_ADDRESSES,
};
use domain::values::{AddressId, CustomerId};
use domain::{DomainError, Problem};
use support::*;

type Test = TestFramework<Customer>;

fn ada() -> CustomerId {
    id(1)
}

fn registered() -> Ev {
    Ev::CustomerRegistered {
        customer_id: ada(),
        name: name("Ada Lovelace"),
        email: email("Ada@Example.com"),
        registered_at: at(),
    }
}

#[test]
fn registers_with_the_time_it_happened() {
    Test::with(clock())
        .given_no_previous_events()
        .when(C::Register {
            customer_id: ada(),
            name: name("Ada Lovelace"),
            email: email("Ada@Example.com"),
            email_owner: None,
        })
        .then_expect_events(vec![registered()]);
}

#[test]
fn refuses_an_email_another_customer_holds() {
    let error = E::EmailTaken(email("ada@example.com"));
    assert_eq!(error.problem(), Problem::EmailTaken);
    Test::with(clock())
        .given_no_previous_events()
        .when(C::Register {
            customer_id: ada(),
            name: name("Ada"),
            email: email("ada@example.com"),
            email_owner: Some(id(2)),
        })
        .then_expect_error(error);
}

#[test]
fn refuses_to_register_twice() {
    Test::with(clock())
        .given(vec![registered()])
        .when(C::Register {
            customer_id: ada(),
            name: name("Ada"),
            email: email("x@example.com"),
            email_owner: None,
        })
        .then_expect_error(E::AlreadyRegistered(ada()));
}

#[test]
fn commands_on_an_unknown_customer_are_not_found() {
    for command in [
        C::Rename { name: name("X") },
        C::ChangeEmail {
            email: email("x@example.com"),
            email_owner: None,
        },
        C::AddAddress {
            address_id: id(9),
            address: address("Berlin"),
        },
    ] {
        Test::with(clock())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(E::NotFound);
    }
    assert_eq!(E::NotFound.problem(), Problem::NotFound);
}

#[test]
fn renames_and_ignores_a_rename_to_the_same_name() {
    Test::with(clock())
        .given(vec![registered()])
        .when(C::Rename {
            name: name("Ada King"),
        })
        .then_expect_events(vec![Ev::CustomerRenamed {
            name: name("Ada King"),
        }]);
    Test::with(clock())
        .given(vec![registered()])
        .when(C::Rename {
            name: name("Ada Lovelace"),
        })
        .then_expect_events(vec![]);
}

#[test]
fn changes_email_unless_someone_else_has_it() {
    Test::with(clock())
        .given(vec![registered()])
        .when(C::ChangeEmail {
            email: email("ada@king.org"),
            email_owner: None,
        })
        .then_expect_events(vec![Ev::CustomerEmailChanged {
            email: email("ada@king.org"),
        }]);
    // Held by this very customer in another spelling: a change of spelling is allowed.
    Test::with(clock())
        .given(vec![registered()])
        .when(C::ChangeEmail {
            email: email("ADA@example.com"),
            email_owner: Some(ada()),
        })
        .then_expect_events(vec![Ev::CustomerEmailChanged {
            email: email("ADA@example.com"),
        }]);
    // Exactly the same: nothing changes.
    Test::with(clock())
        .given(vec![registered()])
        .when(C::ChangeEmail {
            email: email("Ada@Example.com"),
            email_owner: Some(ada()),
        })
        .then_expect_events(vec![]);
    Test::with(clock())
        .given(vec![registered()])
        .when(C::ChangeEmail {
            email: email("bob@example.com"),
            email_owner: Some(id(2)),
        })
        .then_expect_error(E::EmailTaken(email("bob@example.com")));
}

#[test]
fn adds_up_to_twenty_addresses() {
    let added = |n: u128| Ev::CustomerAddressAdded {
        address_id: id(100 + n),
        address: address("Berlin"),
    };
    Test::with(clock())
        .given(vec![registered()])
        .when(C::AddAddress {
            address_id: id(100),
            address: address("Berlin"),
        })
        .then_expect_events(vec![added(0)]);

    let mut twenty = vec![registered()];
    twenty.extend((0..MAX_ADDRESSES as u128).map(added));
    let error = E::TooManyAddresses { max: 20 };
    assert_eq!(error.problem(), Problem::InvalidTransition);
    Test::with(clock())
        .given(twenty.clone())
        .when(C::AddAddress {
            address_id: id(999),
            address: address("Paris"),
        })
        .then_expect_error(error);
    // A retried add of an address already there changes nothing, even at the limit.
    Test::with(clock())
        .given(twenty)
        .when(C::AddAddress {
            address_id: id(100),
            address: address("Berlin"),
        })
        .then_expect_events(vec![]);
}

#[test]
fn an_address_id_cannot_be_reused_for_another_address() {
    let first: AddressId = id(100);
    Test::with(clock())
        .given(vec![
            registered(),
            Ev::CustomerAddressAdded {
                address_id: first,
                address: address("Berlin"),
            },
        ])
        .when(C::AddAddress {
            address_id: first,
            address: address("Paris"),
        })
        .then_expect_error(E::AddressIdReused(first));
}

#[test]
fn facts_for_an_order_list_the_addresses() {
    let mut customer = Customer::default();
    for event in [
        registered(),
        Ev::CustomerAddressAdded {
            address_id: id(100),
            address: address("Berlin"),
        },
    ] {
        cqrs_es::Aggregate::apply(&mut customer, event);
    }
    let facts = customer.facts().expect("registered");
    assert_eq!(facts.customer_id, ada());
    assert_eq!(facts.addresses.get(&id(100)), Some(&address("Berlin")));
    assert!(Customer::default().facts().is_none());
}
