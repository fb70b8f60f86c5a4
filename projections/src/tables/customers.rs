//! The tables of the `customers` read model.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::table;

table! {
    /// One customer and how many orders they placed.
    CustomerRow in "customers" keyed by (id) {
        id: Uuid,
        name: String,
        email: String,
        registered_at: DateTime<Utc>,
        order_count: i32,
        version: i64,
    }
}

table! {
    /// One of a customer's addresses; `ordinal` keeps them in the order they were added.
    AddressRow in "customer_addresses" keyed by (customer_id, address_id) {
        customer_id: Uuid,
        address_id: Uuid,
        ordinal: i32,
        label: Option<String>,
        line1: String,
        line2: Option<String>,
        city: String,
        postal_code: String,
        country: String,
    }
}
