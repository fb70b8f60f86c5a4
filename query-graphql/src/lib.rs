//! The OMS GraphQL query service: the read models of `projections`, served with
//! async-graphql as CONTRACT specifies, over HTTP and WebSocket.
//!
//! # Layout
//!
//! - [`schema`]: the schema (roots, data, extensions) and its SDL.
//! - [`query`] and [`subscription`]: the roots; [`views`]: the types, each over its rows.
//! - [`pages`]: keyset pages and counts; [`cursor`]: opaque cursors.
//! - [`loaders`]: the DataLoader behind lookups by id; nested fields load per sibling set
//!   ([`views`]), so a query's statements do not grow with its pages (no N+1).
//! - [`fetch`]: rows by key, many keys per statement.
//! - [`hub`]: one database listener per process: checkpoints and changed orders.
//! - [`extension`]: the schema's one extension, applying [`limits`] (depth and complexity,
//!   refused before execution) and [`consistency`] (`OMS-Min-Position`,
//!   `extensions.position`).
//! - [`http`]: the axum glue: GraphQL over HTTP, WebSocket, GraphiQL; [`documents`]: parsed
//!   queries kept by their text; [`order`]: answers in the order of the query;
//!   [`selections`]: the fields a selection set selects, through fragments.
//!
//! Resolvers read only the read-model tables (and `projection_checkpoints`), never the
//! aggregates or the event log, except to learn where an `OMS-Min-Position` lies.

pub mod consistency;
pub mod cursor;
pub mod documents;
pub mod errors;
pub mod extension;
pub mod fetch;
pub mod http;
pub mod hub;
pub mod limits;
pub mod loaders;
pub mod order;
pub mod pages;
pub mod query;
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
