//! The append path: the one way events enter the log.

use std::sync::Arc;

use cqrs_es::persist::SerializedEvent;
use futures_util::future::BoxFuture;
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;

use crate::announce::Announcer;
use crate::event::{complete_metadata, MetadataDefaults};
use crate::group::{GroupCommit, Outcome, Writes};
use crate::leases::Leases;

/// What one append put into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The global position of each appended event, in the order they were given.
    pub positions: Vec<i64>,
}

impl Appended {
    /// The position of the last event appended (0 when nothing was appended).
    pub fn last_position(&self) -> i64 {
        self.positions.last().copied().unwrap_or(0)
    }
}

/// Why an append did not happen. Nothing was written in either case.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended to one of the aggregates first (optimistic lock).
    #[error("another writer appended to the aggregate first")]
    Conflict,
    /// The database failed or was unreachable.
    #[error("database error while appending events")]
    Database(#[from] sqlx::Error),
}

/// The PostgreSQL event log: appends events and reads them back in global log order.
///
/// Cheap to clone. Every write to the `events` table goes through [`EventLog::append`],
/// [`EventLog::append_then`] or [`EventLog::append_within`]; the first two commit in
/// groups (`crate::group`).
#[derive(Clone, Debug)]
pub struct EventLog {
    pub(crate) pool: PgPool,
    /// Statements outside transactions ([`crate::leases`], [`EventLog::leases`]).
    leases: Leases,
    announcer: Arc<Announcer>,
    group: GroupCommit,
    /// The log clock's offset (`crate::clock`), read once.
    clock: Arc<tokio::sync::OnceCell<i64>>,
    /// The followers' shared listener (`crate::watch`), started by the first.
    pub(crate) wakeups: Arc<crate::watch::Wakeups>,
}

/// How many connections of `pool` the log leases: half, from a pool of four up; none
/// kept from a smaller one, whose every connection its transactions may need.
fn leased_share(pool: &PgPool) -> usize {
    match usize::try_from(pool.options().get_max_connections()) {
        Ok(max) if max >= 4 => max / 2,
        _ => 0,
    }
}

/// Further writes that must commit atomically with an append (a snapshot, an idempotency
/// record, a uniqueness claim). They run after the events are inserted, inside the same
/// transaction, and see the positions the events got. Their error rolls everything back.
pub type AfterAppend<'c, T, E> = BoxFuture<'c, Result<T, E>>;

impl EventLog {
    /// Opens the log on a pool. Must be called inside a Tokio runtime: it starts the task
    /// that wakes readers after commits.
    pub fn new(pool: PgPool) -> Self {
        let leases = Leases::new(pool.clone(), leased_share(&pool));
        let announcer = Arc::new(Announcer::start(leases.clone()));
        Self {
            group: GroupCommit::start(&pool),
            leases,
            pool,
            announcer,
            clock: Arc::default(),
            wakeups: Arc::default(),
        }
    }

    /// The offset of the log's count of transaction ids (`crate::clock`). It changes only
    /// when `migrate` aligns the clock after a move, before the platform appends or reads,
    /// so it is read once and then bound into every append and read (a function call in
    /// the statements made the reader's index bounds per-row work).
    pub(crate) async fn clock_offset(&self) -> Result<i64, sqlx::Error> {
        self.clock
            .get_or_try_init(|| {
                crate::once_more_if_broken(|| {
                    sqlx::query_scalar("SELECT xact_offset FROM log_clock").fetch_one(&self.pool)
                })
            })
            .await
            .copied()
    }

    /// The pool this log reads and writes through.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Connections of [`EventLog::pool`] for single statements outside transactions,
    /// kept between them ([`crate::leases`]): at most half the pool, the rest stays for
    /// transactions ([`leased_share`]).
    pub fn leases(&self) -> &Leases {
        &self.leases
    }

    /// A transaction on the log's pool, begun in a task of its own. sqlx 0.8 counts a
    /// transaction only once `BEGIN` has answered: a caller cancelled while `BEGIN` is in
    /// flight (an aborted task, a dropped request) would hand the connection back to the
    /// pool inside a transaction nobody knows of, and its next user would run in it,
    /// holding locks and a snapshot indefinitely. Begun in its own task, the transaction
    /// is always either handed over or dropped (and so rolled back) whole. A connection
    /// found broken is replaced once (`crate::once_more_if_broken`).
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        crate::once_more_if_broken(|| {
            let pool = self.pool.clone();
            async move {
                tokio::spawn(async move { pool.begin().await })
                    .await
                    .map_err(|_| sqlx::Error::WorkerCrashed)?
            }
        })
        .await
    }

    /// Appends events in one transaction. Each event's sequence must be the next of its
    /// aggregate, else nothing is written and [`AppendError::Conflict`] is returned.
    pub async fn append(&self, events: &[SerializedEvent]) -> Result<Appended, AppendError> {
        self.append_then(events, |_, _| Box::pin(async { Ok::<_, AppendError>(()) }))
            .await
            .map(|(appended, ())| appended)
    }

    /// Appends events and, in the same transaction, runs `after` for further writes; both
    /// commit or neither does. Appends that arrive together share a transaction and its
    /// commit (`crate::group`), each in a savepoint of its own: another append's conflict or
    /// error never fails this one. The result comes once the commit is durable.
    ///
    /// The event insert is the first statement of the append on purpose: the transaction id
    /// that orders the log is assigned at a transaction's first write, and it must be
    /// assigned after the writer read the aggregate state it decided on, or a later event
    /// of an aggregate could sort before an earlier one (docs/adr/0002).
    pub async fn append_then<T, E, F>(
        &self,
        events: &[SerializedEvent],
        after: F,
    ) -> Result<(Appended, T), E>
    where
        T: Send + 'static,
        E: From<AppendError> + Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, &'c Appended) -> AfterAppend<'c, T, E>
            + Send
            + 'static,
    {
        let span = tracing::info_span!("append", events = events.len());
        let (appended, extra) = async {
            let offset = self.clock_offset().await.map_err(AppendError::from)?;
            let kept = Arc::new(std::sync::Mutex::new(None::<Result<T, E>>));
            let outcome = self
                .group
                .submit(events.to_vec(), offset, keeping(after, kept.clone()))
                .await;
            let kept = kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            match (outcome, kept) {
                (Outcome::Committed(appended), Some(Ok(extra))) => Ok((appended, extra)),
                (Outcome::Refused, Some(Err(error))) => Err(error),
                (Outcome::Failed(error), _) => Err(AppendError::Database(error).into()),
                // A conflict, or (impossible) an outcome its writes' result contradicts.
                _ => Err(AppendError::Conflict.into()),
            }
        }
        .instrument(span)
        .await?;
        crate::metrics::appended(events);
        if !appended.positions.is_empty() {
            self.announcer.poke();
        }
        Ok((appended, extra))
    }
}

/// `after` as a group member's writes, keeping its result in `kept` for the caller.
fn keeping<T, E, F>(after: F, kept: Arc<std::sync::Mutex<Option<Result<T, E>>>>) -> Writes
where
    T: Send + 'static,
    E: Send + 'static,
    F: for<'c> FnOnce(&'c mut PgConnection, &'c Appended) -> AfterAppend<'c, T, E> + Send + 'static,
{
    Box::new(move |conn, appended| {
        Box::pin(async move {
            let result = after(conn, appended).await;
            let succeeded = result.is_ok();
            *kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
            succeeded
        })
    })
}

impl EventLog {
    /// Appends events inside a transaction the caller holds and commits, for writers whose
    /// other writes own the transaction (a process manager's checkpoint). The insert must
    /// be the transaction's first write, for the same reason as in
    /// [`EventLog::append_then`]; after the commit the caller calls [`EventLog::announce`].
    /// A conflict aborts the transaction. The events count as appended here: a caller's
    /// transaction that rolls back after this and is retried counts them again.
    pub async fn append_within(
        &self,
        tx: &mut PgConnection,
        events: &[SerializedEvent],
    ) -> Result<Appended, AppendError> {
        let offset = self.clock_offset().await?;
        let appended = insert_events(tx, events, offset).await?;
        crate::metrics::appended(events);
        Ok(appended)
    }

    /// Wakes this process's log readers after a commit made with
    /// [`EventLog::append_within`].
    pub fn announce(&self) {
        self.announcer.poke();
    }
}

/// Inserts all events with one statement. `WITH ORDINALITY … ORDER BY` makes the identity
/// column number them in the given order, so an aggregate's events get rising positions;
/// the transaction's id in the log's count (`crate::clock`) is taken once for them all.
pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    events: &[SerializedEvent],
    clock_offset: i64,
) -> Result<Appended, AppendError> {
    if events.is_empty() {
        return Ok(Appended {
            positions: Vec::new(),
        });
    }
    let defaults = MetadataDefaults::now();
    let n = events.len();
    let mut aggregate_types = Vec::with_capacity(n);
    let mut aggregate_ids = Vec::with_capacity(n);
    let mut sequences = Vec::with_capacity(n);
    let mut event_types = Vec::with_capacity(n);
    let mut event_versions = Vec::with_capacity(n);
    let mut payloads = Vec::with_capacity(n);
    let mut metadata = Vec::with_capacity(n);
    for event in events {
        aggregate_types.push(event.aggregate_type.as_str());
        aggregate_ids.push(event.aggregate_id.as_str());
        sequences.push(i64::try_from(event.sequence).map_err(|e| sqlx::Error::Encode(e.into()))?);
        event_types.push(event.event_type.as_str());
        event_versions.push(event.event_version.as_str());
        payloads.push(&event.payload);
        metadata.push(complete_metadata(&event.metadata, &defaults));
    }
    let result = sqlx::query_scalar::<_, i64>(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata, recorded_at, transaction_id)
         SELECT t.aggregate_type, t.aggregate_id, t.sequence, t.event_type, t.event_version,
                t.payload, t.metadata, $8, x.id
         FROM (SELECT pg_current_xact_id()::text::bigint + $9 AS id) x, UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[],
                     $6::jsonb[], $7::jsonb[])
              WITH ORDINALITY AS t(aggregate_type, aggregate_id, sequence, event_type,
                                   event_version, payload, metadata, ord)
         ORDER BY t.ord
         RETURNING position",
    )
    .bind(&aggregate_types)
    .bind(&aggregate_ids)
    .bind(&sequences)
    .bind(&event_types)
    .bind(&event_versions)
    .bind(&payloads)
    .bind(&metadata)
    .bind(defaults.recorded_at)
    .bind(clock_offset)
    .fetch_all(&mut *conn)
    .await;
    match result {
        Ok(positions) => Ok(Appended { positions }),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("events_pkey") => {
            Err(AppendError::Conflict)
        }
        Err(e) => Err(AppendError::Database(e)),
    }
}
