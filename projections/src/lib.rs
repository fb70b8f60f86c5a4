//! OMS projections: durable workers that tail the event log and build relational read
//! models, and the order-fulfillment process manager on the same runtime.
//!
//! # Layout
//!
//! - [`runtime`]: [`Runtime`](runtime::Runtime) and the [`Projection`](runtime::Projection)
//!   trait: ownership by advisory lock, batches applied with their checkpoint in one
//!   transaction, poison events, shutdown.
//! - [`decode`]: stored events as domain types.
//! - [`models`]: the read models; [`tables`]: their tables, each declared once (rows,
//!   keys, columns), for the projections that write them and the readers.
//! - [`fulfillment`]: the order-fulfillment process manager (a batch's reactions decided
//!   together, appended with its checkpoint).
//! - [`notify`]: commits announced to live readers (read-your-writes, subscriptions).
//! - [`order_views`]: the orders' enriched views as they change, kept for the relay.
//! - `locks`: session advisory locks (a projection's owner, a rebuild).
//! - [`rebuild`]: a new generation from position 0, swapped in atomically.
//! - [`status`]: where each projection stands.

pub mod decode;
pub mod fulfillment;
mod locks;
pub mod metrics;
pub mod models;
pub mod notify;
pub mod order_views;
pub mod rebuild;
pub mod runtime;
pub mod status;
pub mod tables;

use std::sync::Arc;

use runtime::Projection;

/// Every read model, as the runtime runs them.
pub fn read_models() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(models::orders::OrdersProjection),
        Arc::new(models::customers::CustomersProjection),
        Arc::new(models::shipments::ShipmentsProjection),
        Arc::new(models::products::ProductsProjection),
    ]
}

/// Every read model and process manager, as `oms serve` runs them.
pub fn all(
    log: event_store::EventLog,
    clock: domain::clock::SharedClock,
) -> Vec<Arc<dyn Projection>> {
    let mut all = read_models();
    all.push(fulfillment::order_fulfillment(log, clock));
    all
}

/// The names of [`read_models`], in that order (what GraphQL's `OMS-Min-Position` and
/// `extensions.position` wait for).
pub fn read_model_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| read_models().iter().map(|p| p.name()).collect())
}

/// The names of [`all`], for status listings.
pub fn names() -> Vec<&'static str> {
    let mut names = read_model_names().to_vec();
    names.push(fulfillment::NAME);
    names
}
