//! The OMS command API: every command route of the contract, over axum.
//!
//! A route extracts the request ([`request`]: body limit, media type, JSON, `If-Match`,
//! `Idempotency-Key`), validates it into domain values (`domain::input`), loads what the
//! command needs from aggregates, and executes it ([`execute`]): the aggregate decides, its
//! events are appended with the command's records in one transaction, conflicts are
//! retried. Every failure is a problem+json ([`error`]).
//!
//! # Layout
//!
//! - [`router`]: the routes; [`AppState`]: what they share.
//! - `routes`: the route table (path, handler, the problems each answers) and one module
//!   per resource.
//! - `execute`: a [`Command`](execute::Command) (aggregate, command, reply, records):
//!   load, decide, append, retry; or many of one aggregate type as one batch.
//! - [`bulk`]: commands in bulk in this process, built by the routes' own code and run
//!   in batches (`oms seed`).
//! - `access`: who may run each route (the route table names it) and the ownership rule
//!   a customer's command meets on its aggregate.
//! - `records`: idempotency records and email claims, written with the events.
//! - [`error`]: [`ApiError`](error::ApiError), the one boundary error, and the problem table.
//! - [`metrics`]: commands by type and outcome, and how long they take.
//! - `docs`: `GET /docs`, the API reference page, from files inside the binary.
//! - `openapi`: `GET /openapi.json`, generated from the handlers, the route table and the
//!   problem table.

mod access;
pub mod bulk;
mod docs;
pub mod error;
mod execute;
pub mod metrics;
mod openapi;
mod records;
pub mod request;
mod routes;
mod state;
mod turns;

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use error::ApiError;
pub use records::Accepted;
pub use state::AppState;

/// A command answers within this, or with 503 (the database is slow or gone).
pub const DEADLINE: Duration = Duration::from_millis(4_500);

/// Every command route of CONTRACT ([`routes::table`]), each behind its access check,
/// `/openapi.json` and its reference page `/docs`.
pub fn router(state: AppState) -> Router {
    routes::table()
        .into_iter()
        .fold(Router::new(), |router, route| {
            let guard =
                middleware::from_fn_with_state((state.clone(), route.access), access::authorize);
            let measured = middleware::from_fn_with_state(route.command, metrics::measure);
            router.route(route.path, route.handler.layer(guard).layer(measured))
        })
        .route("/openapi.json", get(openapi::document))
        .route("/docs", get(docs::page))
        .route("/docs/assets/{name}", get(docs::asset))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(deadline))
        .with_state(state)
}

/// Unknown routes, as problem+json (for the services' shared fallback).
pub async fn not_found() -> Response {
    ApiError::NotFound("no such route".into()).into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}

async fn deadline(request: Request, next: Next) -> Response {
    match tokio::time::timeout(DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::Unavailable("the database did not answer in time".into()).into_response()
        }
    }
}
