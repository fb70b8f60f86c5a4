//! Types several views share: money and addresses.

use std::sync::Arc;

use async_graphql::{SimpleObject, ID};
use uuid::Uuid;

/// An amount like `"12.50"` and its currency.
#[derive(Debug, Clone, SimpleObject)]
pub struct Money {
    pub amount: String,
    pub currency: String,
}

impl Money {
    /// From minor units (the read models' `*_minor` columns).
    pub fn from_minor(minor: i64, currency: &str) -> Self {
        Self {
            amount: projections::order_views::amount(minor, currency),
            currency: currency.to_owned(),
        }
    }
}

#[derive(Debug, Clone, SimpleObject)]
pub struct Address {
    pub id: ID,
    pub label: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

impl Address {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: Uuid,
        label: Option<&str>,
        line1: &str,
        line2: Option<&str>,
        city: &str,
        postal_code: &str,
        country: &str,
    ) -> Self {
        Self {
            id: ID(id.to_string()),
            label: label.map(str::to_owned),
            line1: line1.to_owned(),
            line2: line2.map(str::to_owned),
            city: city.to_owned(),
            postal_code: postal_code.to_owned(),
            country: country.to_owned(),
        }
    }
}

/// `hasNextPage` and the cursor of the page's last edge.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// The `len` members of a sibling set, each holding the set and its index in it.
pub fn members<S, M>(set: &Arc<S>, len: usize, member: impl Fn(Arc<S>, usize) -> M) -> Vec<M> {
    (0..len).map(|index| member(set.clone(), index)).collect()
}
