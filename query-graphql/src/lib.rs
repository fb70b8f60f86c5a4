//! The OMS GraphQL query service: the read models of `projections`, served with
//! async-graphql as CONTRACT specifies, over HTTP and WebSocket.
//!
//! # Layout
//!
//! From the wire down:
//!
//! - [`http`]: the axum glue: GraphQL over HTTP, WebSocket, GraphiQL; [`documents`]: parsed
//!   queries kept by their text; [`order`]: answers in the order of the query;
//!   [`selections`]: the fields a selection set selects, through fragments.
//! - [`schema`]: the schema (roots, data, extensions) and its SDL.
//! - [`extension`]: the schema's one extension, applying [`limits`] (depth and complexity,
//!   refused before execution) and [`consistency`] (`OMS-Min-Position`,
//!   `extensions.position`).
//! - [`query`] and [`subscription`]: the roots; [`views`]: the GraphQL types, each over
//!   its rows; nested fields load per sibling set, so a query's statements do not grow
//!   with its pages (no N+1). [`cursor`], [`scalars`], [`errors`]: what they share.
//! - [`hub`]: one database listener per process: checkpoints and changed orders.
//! - [`read_models`]: the data layer: the rows and the SQL behind every field (by key,
//!   pages, counts, the DataLoader); it knows nothing of the GraphQL types.
//!
//! Resolvers read only the read-model tables (and `projection_checkpoints`), never the
//! aggregates or the event log, except to learn where an `OMS-Min-Position` lies.

pub mod consistency;
pub mod cursor;
pub mod documents;
pub mod errors;
pub mod extension;
pub mod http;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod order;
pub mod query;
pub mod read_models;
pub mod scalars;
pub mod schema;
pub mod selections;
pub mod subscription;
pub mod views;

use axum::Router;
use event_store::EventLog;

pub use http::Options;

/// `/graphql` and `/graphql/ws` over `log`'s database, with default [`Options`]. Starts
/// the process's listener.
pub fn router(log: EventLog) -> Router {
    router_with(log, Options::default())
}

/// [`router`] with `options` (allowed origins, shutdown).
pub fn router_with(log: EventLog, options: Options) -> Router {
    let hub = hub::Hub::start(log.clone());
    http::router(schema::build(log, hub), options)
}
