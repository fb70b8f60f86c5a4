//! `Product` over `products`.

use async_graphql::Object;

use super::common::Money;

/// The columns of [`ProductRow`], for `SELECT`.
pub const PRODUCT_COLUMNS: &str = "sku, name, price_minor, currency, on_hand, reserved";

/// One row of `products`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    pub sku: String,
    pub name: String,
    pub price_minor: i64,
    pub currency: String,
    pub on_hand: i64,
    pub reserved: i64,
}

#[derive(Debug, Clone)]
pub struct Product(pub ProductRow);

#[Object]
impl Product {
    async fn sku(&self) -> &str {
        &self.0.sku
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn price(&self) -> Money {
        Money::from_minor(self.0.price_minor, &self.0.currency)
    }

    async fn on_hand(&self) -> i64 {
        self.0.on_hand
    }

    async fn reserved(&self) -> i64 {
        self.0.reserved
    }

    async fn available(&self) -> i64 {
        self.0.on_hand - self.0.reserved
    }
}
