//! The table of the `products` read model.

use super::table;

table! {
    /// One product with its stock (`on_hand`, `reserved`; available is derived).
    ProductRow in "products" keyed by (sku) {
        sku: String,
        name: String,
        price_minor: i64,
        currency: String,
        on_hand: i64,
        reserved: i64,
        version: i64,
    }
}
