//! The read models, one module each, each a [`ReadModel`] and so a [`Projection`]. Each
//! folds a batch in memory over the rows it touches (one read per table) and writes them
//! back with one statement per table; their tables are declared in [`crate::tables`].

pub mod customers;
pub mod orders;
pub mod products;
pub mod shipments;

use std::future::Future;

use futures_util::future::BoxFuture;
use sqlx::PgConnection;

use crate::decode::Envelope;
use crate::runtime::{Changed, Projection};

/// A read model: what the runtime needs to know of it, besides how it folds a batch.
/// Every read model is a [`Projection`] through it.
pub trait ReadModel: Send + Sync + 'static {
    /// Its name ([`Projection::name`]).
    const NAME: &'static str;
    /// The aggregate types it reads ([`Projection::aggregate_types`]).
    const READS: &'static [&'static str];
    /// Its tables, the one a batch touches first first ([`Projection::tables`]).
    const TABLES: &'static [&'static str];
    /// Whether its changed views are kept for the relay ([`Projection::keeps_views`]).
    const KEEPS_VIEWS: bool = false;

    /// Folds `events` into its tables inside `tx` ([`Projection::apply`]).
    fn fold<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope],
    ) -> impl Future<Output = anyhow::Result<Changed>> + Send + 'a;
}

impl<M: ReadModel> Projection for M {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        M::READS
    }

    fn tables(&self) -> &'static [&'static str] {
        M::TABLES
    }

    fn keeps_views(&self) -> bool {
        M::KEEPS_VIEWS
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope],
    ) -> BoxFuture<'a, anyhow::Result<Changed>> {
        Box::pin(self.fold(tx, events))
    }
}
