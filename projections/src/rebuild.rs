//! Rebuilding a projection from position 0 without downtime.
//!
//! The new generation is built in shadow copies of the projection's tables, in a schema of
//! its own, by the projection's unchanged `apply` (run with that schema first on the
//! `search_path`), while readers and the live worker keep using the live tables. When it
//! has caught up, one transaction locks the live tables (in the order a live batch takes
//! them), locks the checkpoint row, applies the last events, sets the checkpoint and swaps
//! the generations by moving tables between schemas. Readers wait for that moment and then
//! see the new tables: never an empty or half-built view. A live worker (in this process
//! or another) blocked meanwhile finds the checkpoint moved when it resumes, rolls back and
//! continues from the new checkpoint: nothing is applied twice.

use std::time::Duration;

use cqrs_es::persist::EventUpcaster;
use event_store::{EventLog, LogFilter, LogPosition};
use sqlx::{Connection, Executor, PgConnection};

use crate::runtime::{decode_for, Projection};

/// Where a rebuild stands, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Events read from the log so far.
    pub events: u64,
    /// Events in the log when the rebuild started.
    pub total: u64,
    pub done: bool,
}

const BATCH: u32 = 5_000;
const SWAP_ATTEMPTS: u32 = 5;

fn shadow_schema(name: &str) -> String {
    format!("rebuild_{}", name.replace('-', "_"))
}

/// Rebuilds `projection` from the start of the log, reporting progress as it goes.
pub async fn rebuild(
    log: &EventLog,
    projection: &dyn Projection,
    mut progress: impl FnMut(Progress),
) -> anyhow::Result<()> {
    let name = projection.name();
    let upcasters = domain::events::upcasters();
    let schema = shadow_schema(name);
    let total = u64::try_from(log.count_after(LogPosition::START).await?).unwrap_or(0);
    let mut conn = log.pool().acquire().await?.detach();
    // One rebuild of a projection at a time: a second would drop the first one's shadow
    // tables. The lock is the connection's, so it goes when the rebuild ends, however.
    if !crate::locks::try_lock(&mut conn, &format!("oms.rebuild.{name}")).await? {
        let _ = conn.close().await;
        anyhow::bail!("a rebuild of {name} is already running; wait for it to finish");
    }
    prepare(&mut conn, projection, &schema).await?;

    let mut at = LogPosition::START;
    let mut events = 0_u64;
    let mut batches = 0_u64;
    loop {
        let batch = log
            .read_committed_after(at, BATCH, &LogFilter::default(), Duration::MAX)
            .await?;
        if batch.events.is_empty() {
            break;
        }
        apply_in_shadow(&mut conn, projection, &schema, &batch.events, &upcasters).await?;
        batches += 1;
        if batches.is_power_of_two() {
            // The shadow tables start empty and unanalysed: without statistics the planner
            // reads `id = ANY($1)` with a thousand ids as most of the table and scans it,
            // which makes the rebuild quadratic. Refresh them as the tables double.
            for table in projection.tables() {
                conn.execute(format!("ANALYZE {schema}.{table}").as_str())
                    .await?;
            }
        }
        at = batch.next;
        events += batch.events.len() as u64;
        sqlx::query("UPDATE projection_checkpoints SET rebuild_position = $2 WHERE name = $1")
            .bind(name)
            .bind(at.position)
            .execute(&mut conn)
            .await?;
        progress(Progress {
            events,
            total: total.max(events),
            done: false,
        });
    }

    let mut attempt = 0;
    loop {
        attempt += 1;
        match swap(&mut conn, log, projection, &schema, at, &upcasters).await {
            Ok(applied) => {
                events += applied;
                break;
            }
            Err(error) if attempt < SWAP_ATTEMPTS => {
                tracing::warn!(
                    projection = name,
                    error = format!("{error:#}"),
                    "swap failed; trying again"
                );
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            Err(error) => return Err(error.context("swapping in the rebuilt tables")),
        }
    }
    progress(Progress {
        events,
        total: total.max(events),
        done: true,
    });
    let _ = conn.close().await;
    Ok(())
}

/// A fresh shadow schema with empty copies of the live tables (indexes included).
async fn prepare(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
) -> anyhow::Result<()> {
    let name = projection.name();
    sqlx::query(
        "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE projection_checkpoints SET rebuild_position = 0 WHERE name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    conn.execute(
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str(),
    )
    .await?;
    for table in projection.tables() {
        conn.execute(
            format!("CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)").as_str(),
        )
        .await?;
    }
    Ok(())
}

async fn apply_in_shadow(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    events: &[event_store::RecordedEvent],
    upcasters: &[Box<dyn EventUpcaster>],
) -> anyhow::Result<()> {
    let envelopes = decode_for(projection.aggregate_types(), events, upcasters)?;
    if envelopes.is_empty() {
        return Ok(());
    }
    let mut tx = conn.begin().await?;
    tx.execute(format!("SET LOCAL search_path TO {schema}, public").as_str())
        .await?;
    projection.apply(&mut tx, &envelopes).await?;
    tx.commit().await?;
    Ok(())
}

/// The atomic hand-over; returns how many events it applied on the way.
async fn swap(
    conn: &mut PgConnection,
    log: &EventLog,
    projection: &dyn Projection,
    schema: &str,
    mut at: LogPosition,
    upcasters: &[Box<dyn EventUpcaster>],
) -> anyhow::Result<u64> {
    let name = projection.name();
    let retired = format!("{schema}_retired");
    let live: Vec<String> = projection
        .tables()
        .iter()
        .map(|t| format!("public.{t}"))
        .collect();
    let mut tx = conn.begin().await?;
    tx.execute("SET LOCAL lock_timeout = '10s'").await?;
    tx.execute(format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", live.join(", ")).as_str())
        .await?;
    sqlx::query("SELECT 1 FROM projection_checkpoints WHERE name = $1 FOR UPDATE")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    // The last events, now that no live batch can commit.
    tx.execute(format!("SET LOCAL search_path TO {schema}, public").as_str())
        .await?;
    let mut applied = 0;
    loop {
        let batch = log.read_after(at, BATCH, &LogFilter::default()).await?;
        if batch.events.is_empty() {
            break;
        }
        let envelopes = decode_for(projection.aggregate_types(), &batch.events, upcasters)?;
        if !envelopes.is_empty() {
            projection.apply(&mut tx, &envelopes).await?;
        }
        applied += batch.events.len() as u64;
        at = batch.next;
    }
    tx.execute("SET LOCAL search_path TO public").await?;
    sqlx::query(
        "UPDATE projection_checkpoints
         SET transaction_id = $2, position = $3, rebuild_position = NULL, last_error = NULL, updated_at = now()
         WHERE name = $1",
    )
    .bind(name)
    .bind(at.transaction_id)
    .bind(at.position)
    .execute(&mut *tx)
    .await?;
    tx.execute(
        format!("DROP SCHEMA IF EXISTS {retired} CASCADE; CREATE SCHEMA {retired}").as_str(),
    )
    .await?;
    for table in projection.tables() {
        tx.execute(format!("ALTER TABLE public.{table} SET SCHEMA {retired}").as_str())
            .await?;
        tx.execute(format!("ALTER TABLE {schema}.{table} SET SCHEMA public").as_str())
            .await?;
    }
    tx.execute(format!("DROP SCHEMA {retired} CASCADE; DROP SCHEMA {schema}").as_str())
        .await?;
    crate::notify::within(&mut tx, name, at, &[]).await?;
    tx.commit().await?;
    Ok(applied)
}
