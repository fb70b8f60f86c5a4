//! The DataLoader behind the root lookups by id (`order`, `customer`, `shipment`): shared
//! by all requests and without a cache, so concurrent requests' keys go out in one
//! statement and nothing served is older than the read model.
//!
//! Nested fields do not go through it but through their sibling set (`crate::views`):
//! a time-window loader batches only the keys that arrive within its window, and on a
//! busy multi-threaded runtime a page's resolvers straddle several windows (a page of 50
//! orders took 25 statements instead of 6). A set loads for all its members on the first
//! member's request, so the count is fixed by the query's shape.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use event_store::Leases;
use uuid::Uuid;

use projections::tables::customers::CustomerRow;
use projections::tables::orders::OrderRow;
use projections::tables::shipments::ShipmentRow;

use super::fetch;
use crate::errors;

/// The loader as resolvers find it in the schema's data.
pub type Loaders = DataLoader<ById>;

/// Batches lookups by id.
#[derive(Debug, Clone)]
pub struct ById {
    reads: Leases,
}

impl ById {
    pub fn loader(reads: Leases) -> Loaders {
        DataLoader::new(Self { reads }, tokio::spawn)
    }
}

type Loaded<K, V> = Result<HashMap<K, V>, async_graphql::Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderById(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShipmentById(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerById(pub Uuid);

fn keys<K: Copy>(keys: &[K], id: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| id(*k)).collect()
}

impl Loader<OrderById> for ById {
    type Value = OrderRow;
    type Error = async_graphql::Error;

    async fn load(&self, ids: &[OrderById]) -> Loaded<OrderById, OrderRow> {
        let rows = fetch::orders(&self.reads, &keys(ids, |k| k.0))
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(rows.into_iter().map(|r| (OrderById(r.id), r)).collect())
    }
}

impl Loader<ShipmentById> for ById {
    type Value = ShipmentRow;
    type Error = async_graphql::Error;

    async fn load(&self, ids: &[ShipmentById]) -> Loaded<ShipmentById, ShipmentRow> {
        let rows = fetch::shipments(&self.reads, &keys(ids, |k| k.0))
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(rows.into_iter().map(|r| (ShipmentById(r.id), r)).collect())
    }
}

impl Loader<CustomerById> for ById {
    type Value = CustomerRow;
    type Error = async_graphql::Error;

    async fn load(&self, ids: &[CustomerById]) -> Loaded<CustomerById, CustomerRow> {
        let rows = fetch::customers(&self.reads, &keys(ids, |k| k.0))
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(rows.into_iter().map(|r| (CustomerById(r.id), r)).collect())
    }
}
