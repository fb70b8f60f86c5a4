//! `Product` over `products`.

use async_graphql::Object;
use projections::tables::products::ProductRow;

use super::common::Money;

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
