//! Reading the global log in an order that never skips an event.

use serde_json::value::RawValue;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::{EventLog, LogPosition, RecordedEvent};

/// Which events a read returns, and with what. The default is all of them, whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Only events of this type (`oms events tail --type`).
    pub event_type: Option<String>,
    /// Only events of this aggregate type (cqrs-es replays).
    pub aggregate_type: Option<String>,
    /// Only the events of these aggregate types come with their payload and metadata;
    /// the others come with `null` in both, for a reader that passes them by and needs
    /// only their place in the log (a projection). The payloads are most of what a read
    /// costs the server.
    pub payloads_of: Option<&'static [&'static str]>,
}

/// One read of the log.
#[derive(Debug, Clone)]
pub struct LogBatch {
    /// Committed events after the checkpoint, in log order.
    pub events: Vec<RecordedEvent>,
    /// Where the reader stands after this batch: the last event's position, or the
    /// checkpoint it asked from when the batch is empty.
    pub next: LogPosition,
    /// Committed events exist that this read could not return yet because an older
    /// transaction is still open. A follower then looks again soon rather than waiting
    /// for an announcement: that transaction may end without one (a rollback, or a write
    /// to another table).
    pub held_back: bool,
}

pub(crate) const COLUMNS: &str =
    "position, transaction_id, aggregate_type, aggregate_id, sequence, \
                       event_type, event_version, payload, metadata, recorded_at";

/// [`COLUMNS`] for [`EventLog::read_after`], whose `$7` is [`LogFilter::payloads_of`].
const PASSING_COLUMNS: &str = "position, transaction_id, aggregate_type, aggregate_id, sequence, \
     event_type, event_version, \
     CASE WHEN $7::text[] IS NULL OR aggregate_type = ANY($7) THEN payload END, \
     CASE WHEN $7::text[] IS NULL OR aggregate_type = ANY($7) THEN metadata END, \
     recorded_at";

/// The oldest transaction still running, in the log's count of transaction ids (the
/// cluster's plus the clock offset bound as `$6`, `crate::clock`): every transaction below
/// it has finished, so the events below it are final. Evaluated once per statement,
/// against the statement's own snapshot, which is also the snapshot that decides which
/// rows the statement sees.
const HORIZON: &str = "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint + $6)";

impl EventLog {
    /// Reads up to `limit` committed events after `after`, in log order.
    ///
    /// Never returns an event while an event that sorts before it can still be committed:
    /// it stops at the oldest transaction still running. A transaction that stays open
    /// therefore holds readers back; it is never skipped.
    pub async fn read_after(
        &self,
        after: LogPosition,
        limit: u32,
        filter: &LogFilter,
    ) -> Result<LogBatch, sqlx::Error> {
        // One statement, one snapshot: the horizon, the held-back flag and the events all
        // agree. The LEFT JOIN yields one all-NULL row when there are no events. The
        // horizon stays an inline expression (not a CTE) so that the events' scan uses it
        // as an index bound. The held-back flag compares the horizon with the highest
        // committed transaction id, which the log-order index answers from its last entry:
        // asked as `EXISTS (... WHERE transaction_id >= horizon)`, the planner guessed a
        // third of the log matches and scanned the whole table for a row that is rarely
        // there, on every read.
        let sql = format!(
            "SELECT h.held_back, e.* FROM
               (SELECT coalesce((SELECT max(transaction_id) FROM events) >= {HORIZON}, false)
                         AS held_back) h
               LEFT JOIN LATERAL (
                 SELECT {PASSING_COLUMNS} FROM events
                 WHERE (transaction_id, position) > ($1, $2)
                   AND transaction_id < {HORIZON}
                   AND ($4::text IS NULL OR event_type = $4)
                   AND ($5::text IS NULL OR aggregate_type = $5)
                 ORDER BY transaction_id, position
                 LIMIT $3
               ) e ON true"
        );
        let offset = self.clock_offset().await?;
        // A kept connection may have lost its session since its last statement.
        let rows = crate::once_more_if_broken(|| async {
            let mut lease = self.leases().lease().await?;
            let rows = sqlx::query(&sql)
                .bind(after.transaction_id)
                .bind(after.position)
                .bind(i64::from(limit))
                .bind(filter.event_type.as_deref())
                .bind(filter.aggregate_type.as_deref())
                .bind(offset)
                .bind(filter.payloads_of)
                .fetch_all(&mut *lease)
                .await;
            lease.finished(rows)
        })
        .await?;
        let held_back = match rows.first() {
            Some(row) => row.try_get(0)?,
            None => false,
        };
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<Option<i64>, _>(1)?.is_some() {
                events.push(decode(row, 1)?);
            }
        }
        let next = events.last().map_or(after, RecordedEvent::log_position);
        Ok(LogBatch {
            events,
            next,
            held_back,
        })
    }

    /// Like [`EventLog::read_after`], but an empty read that open transactions hold back
    /// is repeated (every [`crate::HELD_BACK_POLL`]) until they end or `patience` runs
    /// out. An empty batch that is not `held_back` means: caught up with everything
    /// committed. Transaction ids are cluster-wide, so the transaction may be anyone's.
    pub async fn read_committed_after(
        &self,
        after: LogPosition,
        limit: u32,
        filter: &LogFilter,
        patience: std::time::Duration,
    ) -> Result<LogBatch, sqlx::Error> {
        let started = std::time::Instant::now();
        loop {
            let batch = self.read_after(after, limit, filter).await?;
            if !batch.events.is_empty() || !batch.held_back || started.elapsed() >= patience {
                return Ok(batch);
            }
            tokio::time::sleep(crate::HELD_BACK_POLL).await;
        }
    }

    /// Where the reader stands after the event at `position`, for readers that start from
    /// a position a user gave. `None` when no event has that position.
    pub async fn position_of(&self, position: i64) -> Result<Option<LogPosition>, sqlx::Error> {
        if position == 0 {
            return Ok(Some(LogPosition::START));
        }
        let transaction_id: Option<i64> =
            sqlx::query_scalar("SELECT transaction_id FROM events WHERE position = $1")
                .bind(position)
                .fetch_optional(&self.pool)
                .await?;
        Ok(transaction_id.map(|transaction_id| LogPosition {
            transaction_id,
            position,
        }))
    }

    /// The highest position in the log (0 when empty), committed or not yet readable.
    pub async fn head_position(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
            .fetch_one(&self.pool)
            .await
    }

    /// Where a reader stands once it has read every event committed so far: the last event
    /// in log order ([`LogPosition::START`] for an empty log). One step along the
    /// log-order index, however long the log.
    pub async fn last(&self) -> Result<LogPosition, sqlx::Error> {
        let last: Option<(i64, i64)> = sqlx::query_as(
            "SELECT transaction_id, position FROM events
             ORDER BY transaction_id DESC, position DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            last.map_or(LogPosition::START, |(transaction_id, position)| {
                LogPosition {
                    transaction_id,
                    position,
                }
            }),
        )
    }

    /// How many committed events lie after `after` (a follower's lag): it reads them all,
    /// so it costs as much as the lag is long ([`EventLog::last`] tells whether there are
    /// any in one step).
    pub async fn count_after(&self, after: LogPosition) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE (transaction_id, position) > ($1, $2)",
        )
        .bind(after.transaction_id)
        .bind(after.position)
        .fetch_one(&self.pool)
        .await
    }

    /// One aggregate's events with a sequence above `after_sequence`, in sequence order.
    pub async fn read_aggregate(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after_sequence: i64,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
             ORDER BY sequence"
        ))
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(after_sequence)
        .try_map(|row: PgRow| decode(&row, 0))
        .fetch_all(&self.pool)
        .await
    }
}

/// Decodes the event whose columns (in `COLUMNS` order) start at index `at`.
pub(crate) fn decode(row: &PgRow, at: usize) -> Result<RecordedEvent, sqlx::Error> {
    Ok(RecordedEvent {
        position: row.try_get(at)?,
        transaction_id: row.try_get(at + 1)?,
        aggregate_type: row.try_get(at + 2)?,
        aggregate_id: row.try_get(at + 3)?,
        sequence: row.try_get(at + 4)?,
        event_type: row.try_get(at + 5)?,
        event_version: row.try_get(at + 6)?,
        payload: raw_json(row, at + 7)?,
        metadata: raw_json(row, at + 8)?,
        recorded_at: row.try_get(at + 9)?,
    })
}

/// A `jsonb` column as it is; SQL `NULL` (a payload a read passed over: see
/// [`LogFilter::payloads_of`]; the table holds none) as JSON `null`.
fn raw_json(row: &PgRow, index: usize) -> Result<Box<RawValue>, sqlx::Error> {
    Ok(match row.try_get::<Option<&RawValue>, _>(index)? {
        Some(value) => value.to_owned(),
        None => RawValue::NULL.to_owned(),
    })
}
