//! cqrs-es persistence over the event log.
//!
//! Why not postgres-es's `PostgresEventRepository` (docs/adr/0001): it has no global
//! position, replays all events ordered by per-aggregate sequence, commits a snapshot
//! update before checking that it applied, and cannot add writes (idempotency records,
//! several commands) to the transaction of an append. This repository keeps its table
//! layout and writes through [`EventLog`], the one append path.

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use std::time::Duration;

use cqrs_es::Aggregate;
use serde_json::Value;
use sqlx::Row;

use crate::{AppendError, EventLog, LogFilter, LogPosition};

/// How many events a replay reads per round trip.
const REPLAY_BATCH: u32 = 1_000;

/// A cqrs-es [`PersistedEventRepository`] on the OMS event log.
#[derive(Debug, Clone)]
pub struct PgEventRepository {
    log: EventLog,
}

impl PgEventRepository {
    pub fn new(log: EventLog) -> Self {
        Self { log }
    }

    /// The log this repository appends to.
    pub fn log(&self) -> &EventLog {
        &self.log
    }
}

impl From<AppendError> for PersistenceError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict => Self::OptimisticLockError,
            AppendError::Database(error) => database_error(error),
        }
    }
}

fn database_error(error: sqlx::Error) -> PersistenceError {
    match error {
        sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => {
            PersistenceError::DeserializationError(Box::new(error))
        }
        sqlx::Error::Database(_) => PersistenceError::UnknownError(Box::new(error)),
        _ => PersistenceError::ConnectionError(Box::new(error)),
    }
}

fn to_i64(n: usize) -> Result<i64, PersistenceError> {
    i64::try_from(n).map_err(|e| PersistenceError::UnknownError(Box::new(e)))
}

fn to_usize(n: i64) -> Result<usize, PersistenceError> {
    usize::try_from(n).map_err(|e| PersistenceError::DeserializationError(Box::new(e)))
}

impl PersistedEventRepository for PgEventRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.get_last_events::<A>(aggregate_id, 0).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let events = self
            .log
            .read_aggregate(A::TYPE, aggregate_id, to_i64(last_sequence)?)
            .await
            .map_err(database_error)?;
        events
            .into_iter()
            .map(|event| event.into_serialized().map_err(PersistenceError::from))
            .collect()
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        let row = sqlx::query(
            "SELECT payload, last_sequence, current_snapshot FROM snapshots
             WHERE aggregate_type = $1 AND aggregate_id = $2
             ORDER BY last_sequence DESC LIMIT 1",
        )
        .bind(A::TYPE)
        .bind(aggregate_id)
        .fetch_optional(self.log.pool())
        .await
        .map_err(database_error)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SerializedSnapshot {
            aggregate_id: aggregate_id.to_owned(),
            aggregate: row.try_get("payload").map_err(database_error)?,
            current_sequence: to_usize(row.try_get("last_sequence").map_err(database_error)?)?,
            current_snapshot: to_usize(row.try_get("current_snapshot").map_err(database_error)?)?,
        }))
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let Some((aggregate_id, aggregate, current_snapshot)) = snapshot_update else {
            self.log.append(events).await?;
            return Ok(());
        };
        let last_sequence = to_i64(events.last().map_or(0, |e| e.sequence))?;
        let current_snapshot = to_i64(current_snapshot)?;
        self.log
            .append_then(events, move |tx, _| {
                Box::pin(async move {
                    // The snapshot row is checked inside the transaction: a snapshot written
                    // by a concurrent writer rolls back our events too.
                    let applied = if current_snapshot == 1 {
                        sqlx::query(
                            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence,
                                                    current_snapshot, payload)
                             VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(A::TYPE)
                        .bind(&aggregate_id)
                        .bind(last_sequence)
                        .bind(current_snapshot)
                        .bind(&aggregate)
                        .execute(&mut *tx)
                        .await?
                    } else {
                        sqlx::query(
                            "UPDATE snapshots
                             SET last_sequence = $3, payload = $5, current_snapshot = $4
                             WHERE aggregate_type = $1 AND aggregate_id = $2
                               AND current_snapshot = $6",
                        )
                        .bind(A::TYPE)
                        .bind(&aggregate_id)
                        .bind(last_sequence)
                        .bind(current_snapshot)
                        .bind(&aggregate)
                        .bind(current_snapshot - 1)
                        .execute(&mut *tx)
                        .await?
                    };
                    if applied.rows_affected() == 1 {
                        Ok(())
                    } else {
                        Err(AppendError::Conflict)
                    }
                })
            })
            .await
            .map_err(PersistenceError::from)?;
        Ok(())
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        let events = self.get_events::<A>(aggregate_id).await?;
        let (mut feed, stream) = ReplayStream::new(events.len().max(1));
        for event in events {
            // The channel holds every event, so pushing cannot wait or fail.
            let _ = feed.push(Ok(event)).await;
        }
        Ok(stream)
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        let (mut feed, stream) = ReplayStream::new(REPLAY_BATCH as usize);
        let log = self.log.clone();
        let filter = LogFilter {
            aggregate_type: Some(A::TYPE.to_owned()),
            ..LogFilter::default()
        };
        tokio::spawn(async move {
            let mut after = LogPosition::START;
            loop {
                // Committed events waiting behind an open transaction belong to the replay.
                let read = log.read_committed_after(after, REPLAY_BATCH, &filter, Duration::MAX);
                let batch = match read.await {
                    Ok(batch) => batch,
                    Err(error) => {
                        let _ = feed.push(Err(database_error(error))).await;
                        return;
                    }
                };
                if batch.events.is_empty() {
                    return;
                }
                after = batch.next;
                for event in batch.events {
                    let event = event.into_serialized().map_err(PersistenceError::from);
                    if feed.push(event).await.is_err() {
                        return; // the consumer stopped reading
                    }
                }
            }
        });
        Ok(stream)
    }
}
