//! The database schema: the migrations in `schemas/migrations`, embedded at build time.

use sqlx::migrate::Migrator;
use sqlx::PgPool;

/// Every migration of `schemas/migrations`, in order.
pub static MIGRATOR: Migrator = sqlx::migrate!("../schemas/migrations");

/// Applies the migrations that are not applied yet, then aligns the log clock with this
/// cluster (`crate::clock`). Safe to run from several processes at once: sqlx serialises
/// migration runs with an advisory lock, and so does the alignment.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await?;
    crate::clock::align(pool)
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    Ok(())
}

/// Whether every migration this build knows is applied (what `/readyz` asks).
pub async fn is_migrated(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let Some(latest) = MIGRATOR.iter().map(|m| m.version).max() else {
        return Ok(true);
    };
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await?;
    if table.is_none() {
        return Ok(false);
    }
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    Ok(applied.is_some_and(|v| v >= latest))
}
