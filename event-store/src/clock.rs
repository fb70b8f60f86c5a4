//! The log's count of transaction ids: the cluster's own plus an offset (`log_clock`,
//! migration 0007), so that a log moved to another cluster keeps its order.
//!
//! Transaction ids are local to a cluster. After a restore into a cluster whose counter is
//! lower, [`align`] raises the offset until the next transaction's id in the log's count is
//! above every event already in the log. In normal running it changes nothing; it runs
//! with the migrations ([`crate::migrate`]), before the process appends or reads.

use sqlx::PgPool;

/// Raises the offset if this cluster's transaction counter is behind the log. Returns by
/// how much (0: nothing to do). Serialised between processes by an advisory lock.
pub async fn align(pool: &PgPool) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('oms.log_clock'))")
        .execute(&mut *tx)
        .await?;
    let (latest, next): (Option<i64>, i64) =
        sqlx::query_as("SELECT (SELECT max(transaction_id) FROM events), oms_log_xact_id()")
            .fetch_one(&mut *tx)
            .await?;
    let behind = latest.map_or(0, |latest| (latest - next + 1).max(0));
    if behind > 0 {
        sqlx::query("UPDATE log_clock SET xact_offset = xact_offset + $1")
            .bind(behind)
            .execute(&mut *tx)
            .await?;
        tracing::warn!(
            behind,
            "this cluster's transaction ids are behind the event log (restored into another cluster?); the log clock moved ahead to keep its order"
        );
    }
    tx.commit().await?;
    Ok(behind)
}
