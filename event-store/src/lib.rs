//! The OMS event log on PostgreSQL: the single source of truth and the outbox.
//!
//! Aggregates' events live in the `events` table (the postgres-es layout, plus a global
//! `position` and the writing transaction's id), appended through [`EventLog`] and loaded
//! through [`AggregateStore`] (snapshot and tail). Readers take the log in a
//! global order that never skips an event, however transactions interleave. This crate is
//! the only code that touches the `events` table.
//!
//! # Layout
//!
//! - [`append`]: [`EventLog`], the one append path (one statement per append, returns
//!   positions, optional further writes in the same transaction).
//! - [`aggregates`]: [`AggregateStore`], aggregates loaded from their latest snapshot and
//!   the events after it, and snapshotted as they are appended.
//! - [`working`]: [`Working`], many aggregates loaded at once and many commands decided on
//!   them in memory, for one append (batches of the process manager, bulk commands).
//! - [`clock`]: the log's count of transaction ids, kept in order across a move of the
//!   database to another cluster.
//! - [`read`]: gapless reads across all aggregates ([`EventLog::read_after`]).
//! - [`watch`] and `announce`: following the log ([`EventLog::follow`]), woken after
//!   commits without busy polling.
//! - [`repository`]: [`PgEventRepository`], cqrs-es persistence over the log.
//! - [`transient`]: which database failures pass by themselves (one decision for all).
//! - [`schema`]: the migrations of `schemas/migrations`.
//! - [`embedded`]: the embedded PostgreSQL server used when no `DATABASE_URL` is given.
//! - `testing` (feature `testing`): a fresh database per test.

pub mod aggregates;
mod announce;
pub mod append;
pub mod clock;
pub mod embedded;
pub mod event;
mod group;
pub mod leases;
pub mod metrics;
mod position;
pub mod read;
pub mod repository;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transient;
pub mod watch;
pub mod working;

pub use aggregates::{AggregateStore, LoadError, Loaded, Snapshot};
pub use announce::EVENTS_CHANNEL;
pub use append::{AppendError, Appended, EventLog};
pub use event::RecordedEvent;
pub use leases::{Lease, Leases};
pub use position::LogPosition;
pub use read::{LogBatch, LogFilter};
pub use repository::PgEventRepository;
pub use schema::{is_migrated, migrate, MIGRATOR};
pub use transient::{is_broken, is_transient, is_transient_cause, once_more_if_broken};
pub use watch::{Following, LogWatcher, FALLBACK_POLL, HELD_BACK_POLL};
pub use working::Working;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The server ends a session left idle inside a transaction for longer than this, and its
/// locks go with it: a client that stalls or loses a task mid-transaction cannot hold
/// rows (a projection's checkpoint, an email claim) for longer. Every OMS connection runs
/// with it ([`session_limits`]).
pub const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);

/// A statement on a request path (a command, a GraphQL query) is cancelled after this,
/// within the command deadline of 4.5 s ([`request_limits`]).
pub const REQUEST_STATEMENT_TIMEOUT: Duration = Duration::from_secs(4);

/// A statement on a request path waits at most this long for a lock ([`request_limits`]).
pub const REQUEST_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// Settings every connection of OMS starts with (sent at connect, no extra round trip).
pub fn session_limits(options: PgConnectOptions) -> PgConnectOptions {
    options.options([(
        "idle_in_transaction_session_timeout",
        IDLE_IN_TRANSACTION_TIMEOUT.as_millis(),
    )])
}

/// [`session_limits`] plus the statement and lock timeouts of request paths: one slow or
/// blocked request gives its connection back in time instead of holding it. Background
/// work (projectors, rebuilds) runs without them: its statements may take long. Request
/// paths also plan once ([`planned_once`]).
pub fn request_limits(options: PgConnectOptions) -> PgConnectOptions {
    planned_once(session_limits(options).options([
        ("statement_timeout", REQUEST_STATEMENT_TIMEOUT.as_millis()),
        ("lock_timeout", REQUEST_LOCK_TIMEOUT.as_millis()),
    ]))
}

/// Prepared statements planned once per connection (a generic plan) instead of at every
/// execution. PostgreSQL keeps planning a statement whose generic plan it estimates
/// dearer than its custom ones, and it always does for statements over array parameters
/// (`unnest($1)`: the aggregate loads and the event insert), whose length only a custom
/// plan knows. The request paths' statements are key lookups, keyset pages and inserts,
/// whose plan does not depend on the values: planning was a sixth of the command path's
/// CPU (docs/adr/0015).
pub fn planned_once(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("plan_cache_mode", "force_generic_plan")])
}

/// A pooled connection idle longer than this is checked (one round trip) before use.
pub const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Pool settings for services: a request never waits long for a connection, so a lost
/// database shows as an error within seconds rather than a hang.
///
/// sqlx checks every connection on release, and by default again on every acquire: with
/// the statement itself, three round trips. A connection that was released moments ago
/// was checked then, so only one idle for over [`CHECK_IDLE_AFTER`] (which a database
/// restart could have broken unnoticed) is checked again before use. Statements run
/// alone skip the check on release too, through [`leases`].
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(32)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > CHECK_IDLE_AFTER {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
}
