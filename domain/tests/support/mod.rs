//! Shared fixtures for the aggregate tests.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use domain::clock::{FixedClock, SharedClock};
use domain::values::*;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .single()
        .expect("valid time")
}

pub fn at() -> Timestamp {
    now().into()
}

pub fn clock() -> SharedClock {
    Arc::new(FixedClock(now()))
}

pub fn eur(amount: &str) -> Money {
    Money::parse_amount(amount, Currency::parse("EUR").expect("EUR")).expect("amount")
}

pub fn usd(amount: &str) -> Money {
    Money::parse_amount(amount, Currency::parse("USD").expect("USD")).expect("amount")
}

pub fn sku(s: &str) -> Sku {
    Sku::parse(s).expect("sku")
}

pub fn qty(n: i64) -> Quantity {
    Quantity::new(n).expect("quantity")
}

pub fn name(s: &str) -> PersonName {
    PersonName::parse(s).expect("name")
}

pub fn product_name(s: &str) -> ProductName {
    ProductName::parse(s).expect("product name")
}

pub fn email(s: &str) -> Email {
    Email::parse(s).expect("email")
}

pub fn address(city: &str) -> Address {
    Address {
        label: None,
        line1: AddressLine::parse("Hauptstraße 1").expect("line1"),
        line2: None,
        city: City::parse(city).expect("city"),
        postal_code: PostalCode::parse("10115").expect("postal code"),
        country: Country::parse("DE").expect("country"),
    }
}

pub fn id<T: std::str::FromStr>(n: u128) -> T
where
    T::Err: std::fmt::Debug,
{
    uuid::Uuid::from_u128(n).to_string().parse().expect("id")
}
