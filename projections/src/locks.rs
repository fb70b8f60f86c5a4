//! Session advisory locks: held by the connection that took them, released when it
//! closes, however the holder ends (a crash closes its socket).

use sqlx::PgConnection;

/// Takes the lock named `key` on `connection` if nobody holds it: `false` when taken.
pub(crate) async fn try_lock(
    connection: &mut PgConnection,
    key: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
        .bind(key)
        .fetch_one(connection)
        .await
}
