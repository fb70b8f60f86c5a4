//! Where each projection stands: `oms projections status` and GraphQL `projections`.

use event_store::{EventLog, LogPosition};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectionStatus {
    pub name: String,
    /// The position of the last event applied (0: none yet).
    pub position: i64,
    /// The highest position in the log.
    pub head_position: i64,
    /// Committed events not applied yet.
    pub lag: i64,
    /// RUNNING, RETRYING (the database fails in passing; `last_error` says how), REBUILDING,
    /// STOPPED or FAILED (an event it cannot apply; `last_error`).
    pub state: String,
    pub last_error: Option<String>,
}

pub const RUNNING: &str = "RUNNING";
pub const RETRYING: &str = "RETRYING";
pub const REBUILDING: &str = "REBUILDING";
pub const STOPPED: &str = "STOPPED";
pub const FAILED: &str = "FAILED";

/// Every state a projection can be in.
pub const STATES: &[&str] = &[RUNNING, RETRYING, REBUILDING, STOPPED, FAILED];

/// The status of every projection: each of [`crate::names`], then the relay once it has
/// run here (it has a checkpoint only where integration events are on).
pub async fn every_projection(log: &EventLog) -> Result<Vec<ProjectionStatus>, sqlx::Error> {
    let mut names = crate::names();
    let relay: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM projection_checkpoints WHERE name = $1)")
            .bind(crate::order_views::RELAY)
            .fetch_one(log.pool())
            .await?;
    if relay {
        names.push(crate::order_views::RELAY);
    }
    status(log, &names).await
}

/// Where a projection's checkpoint stands, as `projection_checkpoints` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub name: String,
    /// After the last event applied ([`LogPosition::START`]: none yet).
    pub at: LogPosition,
    pub state: String,
    pub last_error: Option<String>,
}

/// The checkpoint of each of `names`, in that order; a projection that never ran is
/// STOPPED at the start. Reads no events, so it costs the same however far behind they are.
pub async fn checkpoints(log: &EventLog, names: &[&str]) -> Result<Vec<Checkpoint>, sqlx::Error> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let row: Option<(i64, i64, String, Option<String>)> = sqlx::query_as(
            "SELECT transaction_id, position,
                    CASE WHEN rebuild_position IS NULL THEN state ELSE 'REBUILDING' END, last_error
             FROM projection_checkpoints WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(log.pool())
        .await?;
        let (transaction_id, position, state, last_error) =
            row.unwrap_or((0, 0, STOPPED.to_owned(), None));
        out.push(Checkpoint {
            name: (*name).to_owned(),
            at: LogPosition {
                transaction_id,
                position,
            },
            state,
            last_error,
        });
    }
    Ok(out)
}

/// The status of each of `names`, in that order; a projection that never ran is STOPPED
/// at position 0. Its lag is counted, which reads every event not applied yet.
pub async fn status(log: &EventLog, names: &[&str]) -> Result<Vec<ProjectionStatus>, sqlx::Error> {
    let head_position = log.head_position().await?;
    let mut out = Vec::with_capacity(names.len());
    for checkpoint in checkpoints(log, names).await? {
        let lag = log.count_after(checkpoint.at).await?;
        out.push(ProjectionStatus {
            name: checkpoint.name,
            position: checkpoint.at.position,
            head_position,
            lag,
            state: checkpoint.state,
            last_error: checkpoint.last_error,
        });
    }
    Ok(out)
}
