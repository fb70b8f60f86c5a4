//! GraphQL over HTTP (the GraphQL-over-HTTP specification) and over WebSocket
//! (`graphql-transport-ws`, and the older `graphql-ws`), and the GraphiQL page.
//!
//! - `POST /graphql` takes `application/json`; `GET /graphql?query=…` serves queries
//!   only (a mutation over GET is 405). A body that is not a GraphQL request is 400, a
//!   body over [`MAX_BODY`] 413, another content type 415, an `Accept` that allows
//!   neither JSON type 406.
//! - `Accept: application/graphql-response+json` gets that type and the specification's
//!   status codes: 400 when the request failed before execution (parse, validation,
//!   limits), 503 for `CONSISTENCY_TIMEOUT` and an unreachable database; otherwise 200.
//!   `application/json` answers every well-formed request with 200.
//! - `GET /graphql` from a browser (`Accept: text/html`) is GraphiQL ([`page`]), its
//!   files under `/graphql/assets/`, all inside the binary.
//! - `/graphql/ws`: a subscriber whose outbox stays full for [`SEND_TIMEOUT`], or whose
//!   subscription falls behind the hub's backlog, is closed with [`TOO_SLOW`].

//!
//! [`request`]: a request over HTTP, read and executed; [`media`]: what the client accepts
//! and how answers are written; [`socket`]: subscriptions over WebSocket.

mod media;
mod page;
mod request;
mod socket;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokio::sync::watch;

use crate::documents::Documents;
use crate::schema::OmsSchema;

/// The largest request body (and WebSocket message) taken.
pub const MAX_BODY: usize = 64 * 1024;

/// How long a subscriber may leave its socket unread before it is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The close code for a subscriber that cannot keep up (policy violation).
pub const TOO_SLOW: u16 = 1008;

/// The request header that asks for read-your-writes.
pub const MIN_POSITION_HEADER: &str = "oms-min-position";

/// The close code for a socket whose token is missing, invalid or expired (graphql-ws's
/// "Forbidden").
pub const FORBIDDEN: u16 = 4403;

/// How long a socket may take to send `connection_init` (graphql-transport-ws closes
/// such a socket with 4408).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The close code sent to subscribers when the server shuts down (going away).
pub const GOING_AWAY: u16 = 1001;

/// How the service meets its callers, browsers and its own shutdown.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// How requests (and sockets) are authenticated; off by default.
    pub auth: auth::Authenticator,
    /// Origins besides the service's own that may open `/graphql/ws`
    /// (`OMS_ALLOWED_ORIGINS`), like `https://shop.example`. A request without `Origin`
    /// (not from a browser) is not restricted.
    pub allowed_origins: Vec<String>,
    /// Turns `true` when the process shuts down: open sockets are closed with
    /// [`GOING_AWAY`].
    pub shutdown: Option<watch::Receiver<bool>>,
}

/// What the handlers share.
#[derive(Clone)]
struct Service {
    schema: OmsSchema,
    documents: Arc<Documents>,
    options: Arc<Options>,
}

/// `/graphql` and `/graphql/ws` for `schema`.
pub fn router(schema: OmsSchema, options: Options) -> Router {
    Router::new()
        .route("/graphql", get(request::get).post(request::post))
        .route("/graphql/ws", get(socket::subscribe))
        .route("/graphql/assets/{name}", get(page::asset))
        .with_state(Service {
            schema,
            documents: Arc::default(),
            options: Arc::new(options),
        })
}
