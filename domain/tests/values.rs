//! Value types: property tests for Money and Email, and request validation.

use domain::input::{
    AddAddressInput, DefineProductInput, MoneyInput, OrderLineInput, PayOrderInput,
    PlaceOrderInput, RegisterCustomerInput,
};
use domain::values::{Currency, Email, Money, MoneyError, Quantity, Sku};
use proptest::prelude::*;

fn currency() -> impl Strategy<Value = Currency> {
    "[A-Z]{3}".prop_map(|c| Currency::parse(c).expect("three upper-case letters"))
}

proptest! {
    #[test]
    fn money_prints_and_parses_back(minor in 0_i64..=Money::MAX_INPUT_MINOR, currency in currency()) {
        let money = Money::from_minor(minor, currency);
        let text = money.amount();
        prop_assert!(text.split_once('.').is_some_and(|(_, f)| f.len() == 2), "{text}");
        prop_assert_eq!(Money::parse_amount(&text, currency), Ok(money));
        let json = serde_json::to_value(money).expect("serialise");
        prop_assert_eq!(serde_json::from_value::<Money>(json).expect("deserialise"), money);
    }

    #[test]
    fn money_parses_every_decimal_with_up_to_two_fraction_digits(whole in 0_u32..=999_999, fraction in "[0-9]{0,2}") {
        let text = if fraction.is_empty() { whole.to_string() } else { format!("{whole}.{fraction}") };
        let cents = format!("{fraction:0<2}").parse::<i64>().expect("digits");
        let eur = Currency::parse("EUR").expect("EUR");
        prop_assert_eq!(Money::parse_amount(&text, eur).map(|m| m.minor()), Ok(i64::from(whole) * 100 + cents));
    }

    #[test]
    fn money_refuses_three_fraction_digits_and_never_panics(text in "\\PC{0,16}", whole in 0_u32..1000, fraction in "[0-9]{3,6}") {
        let eur = Currency::parse("EUR").expect("EUR");
        let _ = Money::parse_amount(&text, eur);
        let three_digits = format!("{whole}.{fraction}");
        prop_assert!(Money::parse_amount(&three_digits, eur).is_err());
    }

    #[test]
    fn money_addition_is_checked_and_commutative(a in 0_i64..=i64::MAX / 2, b in 0_i64..=i64::MAX / 2, c1 in currency(), c2 in currency()) {
        let (x, y) = (Money::from_minor(a, c1), Money::from_minor(b, c1));
        prop_assert_eq!(x.checked_add(y), y.checked_add(x));
        prop_assert_eq!(x.checked_add(y).map(|m| m.minor()), Ok(a + b));
        let other = Money::from_minor(b, c2);
        if c1 != c2 {
            prop_assert_eq!(x.checked_add(other), Err(MoneyError::CurrencyMismatch(c1, c2)));
        }
        prop_assert_eq!(Money::from_minor(i64::MAX, c1).checked_add(Money::from_minor(1, c1)), Err(MoneyError::Overflow));
    }

    #[test]
    fn money_multiplication_matches_repeated_addition(minor in 0_i64..=Money::MAX_INPUT_MINOR, n in 1_u32..=1000) {
        let eur = Currency::parse("EUR").expect("EUR");
        let price = Money::from_minor(minor, eur);
        prop_assert_eq!(price.checked_mul(n).map(|m| m.minor()), Ok(minor * i64::from(n)));
    }

    #[test]
    fn email_identity_ignores_letter_case_but_keeps_the_spelling(local in "[a-zA-Z0-9._+-]{1,20}", domain in "[a-zA-Z0-9-]{1,20}", tld in "[a-zA-Z]{2,6}") {
        let text = format!("{local}@{domain}.{tld}");
        let email = Email::parse(&text).expect("valid email");
        let upper = Email::parse(text.to_uppercase()).expect("valid email");
        let lower = Email::parse(text.to_lowercase()).expect("valid email");
        prop_assert_eq!(&email, &upper);
        prop_assert_eq!(&email, &lower);
        prop_assert_eq!(email.as_str(), text.as_str());
        prop_assert_eq!(email.normalized(), text.to_lowercase());
        let renormalized = Email::parse(email.normalized()).expect("valid");
        prop_assert_eq!(renormalized.normalized(), email.normalized());
        let state = std::collections::hash_map::RandomState::new();
        prop_assert_eq!(std::hash::BuildHasher::hash_one(&state, &email), std::hash::BuildHasher::hash_one(&state, &upper));
    }
}

#[test]
fn emails_need_one_at_and_a_dotted_domain() {
    for ok in [
        "a@b.co",
        "  ada@example.com  ",
        "first.last+tag@sub.example.org",
    ] {
        assert!(Email::parse(ok).is_ok(), "{ok}");
    }
    let long = format!("{}@example.com", "a".repeat(250));
    for bad in [
        "",
        "ada",
        "ada@",
        "@example.com",
        "a@@b.com",
        "a@b@c.com",
        "a@example",
        "a@.com",
        "a@com.",
        "a b@c.com",
        long.as_str(),
    ] {
        assert!(Email::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn skus_and_quantities_follow_the_contract() {
    assert!(Sku::parse("ABC-1.2_x").is_ok());
    for bad in ["", "a b", "ä", &"x".repeat(65)] {
        assert!(Sku::parse(bad).is_err(), "{bad:?}");
    }
    assert!(
        Quantity::new(0).is_err() && Quantity::new(1001).is_err() && Quantity::new(-1).is_err()
    );
    assert!(Quantity::new(1).is_ok() && Quantity::new(1000).is_ok());
}

fn fields(errors: &domain::validation::ValidationErrors) -> Vec<&str> {
    errors.0.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn every_broken_field_is_reported_with_its_path() {
    let errors = PlaceOrderInput {
        customer_id: Some("not-a-uuid".into()),
        shipping_address_id: None,
        lines: Some(vec![
            OrderLineInput {
                sku: Some("OK-1".into()),
                quantity: Some(1),
            },
            OrderLineInput {
                sku: Some("bad sku".into()),
                quantity: Some(0),
            },
            OrderLineInput {
                sku: None,
                quantity: Some(1001),
            },
        ]),
    }
    .validate()
    .expect_err("invalid");
    assert_eq!(
        fields(&errors),
        [
            "customer_id",
            "shipping_address_id",
            "lines[1].sku",
            "lines[1].quantity",
            "lines[2].sku",
            "lines[2].quantity"
        ]
    );

    let errors = PlaceOrderInput {
        customer_id: None,
        shipping_address_id: None,
        lines: Some(vec![]),
    }
    .validate()
    .expect_err("invalid");
    assert_eq!(
        fields(&errors),
        ["customer_id", "shipping_address_id", "lines"]
    );

    let errors = DefineProductInput {
        sku: Some("  ".into()),
        name: Some("x".repeat(201)),
        price: Some(MoneyInput {
            amount: Some("12.345".into()),
            currency: Some("eur".into()),
        }),
        stock: Some(-1),
    }
    .validate()
    .expect_err("invalid");
    assert_eq!(
        fields(&errors),
        ["sku", "name", "price.amount", "price.currency", "stock"]
    );

    let errors = PayOrderInput {
        amount: None,
        method: Some(" ".into()),
        reference: None,
    }
    .validate()
    .expect_err("invalid");
    assert_eq!(fields(&errors), ["amount", "method", "reference"]);

    let errors = RegisterCustomerInput {
        name: None,
        email: Some("nope".into()),
    }
    .validate()
    .expect_err("invalid");
    assert_eq!(fields(&errors), ["name", "email"]);

    let errors = AddAddressInput {
        country: Some("de".into()),
        postal_code: Some("1".repeat(21)),
        ..Default::default()
    }
    .validate()
    .expect_err("invalid");
    assert_eq!(fields(&errors), ["line1", "city", "postal_code", "country"]);
}

#[test]
fn valid_requests_become_values_trimmed() {
    let (name, email) = RegisterCustomerInput {
        name: Some("  Ada  ".into()),
        email: Some(" Ada@Example.com ".into()),
    }
    .validate()
    .expect("valid");
    assert_eq!((name.as_str(), email.as_str()), ("Ada", "Ada@Example.com"));
    let address = AddAddressInput {
        label: Some("   ".into()),
        line1: Some("Hauptstraße 1".into()),
        line2: None,
        city: Some("Berlin".into()),
        postal_code: Some("10115".into()),
        country: Some("DE".into()),
    }
    .validate()
    .expect("valid");
    assert_eq!(address.label, None, "a blank optional field is absent");
    let order = PlaceOrderInput {
        customer_id: Some("00000000-0000-0000-0000-000000000001".into()),
        shipping_address_id: Some("00000000-0000-0000-0000-000000000002".into()),
        lines: Some(vec![
            OrderLineInput {
                sku: Some("A".into()),
                quantity: Some(2)
            };
            100
        ]),
    }
    .validate()
    .expect("100 lines is the limit");
    assert_eq!(order.lines.len(), 100);
}
