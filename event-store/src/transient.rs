//! Which database failures pass: the one place that decides, for every caller (commands
//! answer 503, GraphQL `SERVICE_UNAVAILABLE`, projections retry for as long as it lasts).

use std::error::Error;

/// SQLSTATE classes and codes that say "the database cannot do this now", not "this
/// request or event is wrong".
const TRANSIENT_STATES: &[&str] = &[
    "08",    // connection exception
    "53",    // insufficient resources: disk full (53100), out of memory, too many clients (53300)
    "57P01", // admin shutdown
    "57P02", // crash shutdown
    "57P03", // cannot connect now (starting up, in recovery)
    "57014", // query canceled: statement_timeout
    "55P03", // lock not available: lock_timeout
    "40001", // serialization failure
    "40P01", // deadlock detected
    "25006", // read-only transaction: a standby, or a primary being demoted
    "58000", // system error
    "58030", // I/O error
];

/// Whether `error` is a database failure that passes by itself: the server is
/// unreachable, restarting, out of resources or read-only, or a statement ran out of time.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            TRANSIENT_STATES.iter().any(|state| {
                code.starts_with(state) && (state.len() == 2 || code.len() == state.len())
            })
        }),
        _ => false,
    }
}

/// Whether any cause in `error`'s chain is a transient database failure.
pub fn is_transient_cause(error: &(dyn Error + 'static)) -> bool {
    let mut cause: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<sqlx::Error>()
            .is_some_and(is_transient)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Whether `error` says the connection is gone: an I/O failure, or the server ending the
/// session (a connection exception, an administrator's or a crash's shutdown), which it
/// reports on the session's next statement when that came while it was idle.
pub fn is_broken(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code == "57P01" || code == "57P02"),
        _ => false,
    }
}

/// Runs `attempt` again once if it failed on a broken connection ([`is_broken`]): a pooled
/// connection can have lost its server (a restart) while idle without the pool knowing
/// yet, and the failed one is discarded, so the second try gets a sound one. Only for work
/// that had no effect when it failed that way: a read, or a `BEGIN`.
pub async fn once_more_if_broken<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    match attempt().await {
        Err(error) if is_broken(&error) => {
            tracing::debug!(%error, "a pooled connection was broken; trying a fresh one");
            attempt().await
        }
        outcome => outcome,
    }
}
