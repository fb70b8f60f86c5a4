//! The `oms` binary's wiring: command line, database, HTTP serving, operational routes.
//!
//! The platform's parts live in the member crates (`domain`, `event-store`, `auth`,
//! `command-api`, `projections`, `query-graphql`); this package only connects them.
//!
//! # Layout
//!
//! - [`cli`]: the command line of CONTRACT.
//! - [`database`]: `DATABASE_URL` or the embedded PostgreSQL.
//! - [`serve`]: `oms serve` (roles, authentication, graceful shutdown), [`ops`], the routes
//!   every role serves, and [`browsers`]: CORS and the origins allowed.
//! - [`observe`]: request ids, trace context, the access log and HTTP metrics of every
//!   request; [`metrics`]: the process's recorder behind `/metrics`.
//! - [`tail`]: `oms events tail`; [`status`]: `oms projections status`;
//!   [`rebuild`]: `oms projections rebuild`; [`token`]: `oms token`; [`seed`]: `oms seed`;
//!   [`progress`]: their progress bars; [`healthcheck`]: `oms healthcheck`.
//! - [`logging`]: tracing set-up.

/// mimalloc rather than the system's allocator: a request allocates and frees many small
/// values (parsed queries, resolver results, JSON), and glibc's malloc took a seventh of
/// the GraphQL service's CPU time under load. Declared here, it is the allocator of every
/// binary that links this package: `oms`, its tests and its benchmarks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod browsers;
pub mod cli;
pub mod database;
pub mod healthcheck;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod observe;
pub mod ops;
pub mod progress;
pub mod rebuild;
pub mod seed;
pub mod serve;
pub mod status;
pub mod tail;
pub mod token;
