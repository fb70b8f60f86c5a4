//! The projector runtime: one worker per projection, exactly-once across crashes.
//!
//! - **Ownership**: a worker owns its projection while it holds a session advisory lock on
//!   a connection of its own. When the owner dies its connection closes and the lock goes
//!   with it; a standby, trying every `standby_poll`, takes over.
//! - **Exactly once**: a batch is applied and the checkpoint advanced in one transaction,
//!   and the checkpoint update is fenced on the checkpoint the batch started from: a batch
//!   that raced another writer (a lost lock) changes nothing.
//! - **Announced**: the same transaction notifies live readers of the new checkpoint and
//!   the view rows the batch changed ([`crate::notify`]).
//! - **Follow-up events**: a projection that appends events (a process manager) does so
//!   in the batch transaction, so its effects are exactly once too; a conflict with a
//!   concurrent command rolls the batch back and it is decided again on fresh state.
//! - **Poison events**: a batch that fails is retried with backoff; after `max_attempts`
//!   the projection stops in state `FAILED` with `last_error`. Other projections go on. A
//!   restart retries it. Only an event that cannot be applied is poison: a database that
//!   fails in passing (unreachable, restarting, out of connections or disk, read-only,
//!   timed out: `event_store::transient`), at start-up or mid-batch, is waited out for as
//!   long as it lasts, in state `RETRYING` with the error, and the batch is tried again.
//! - **Catching up**: when a batch is full, the next one is read while it is applied (a
//!   read never passes the oldest open transaction, the batch's own included, so this
//!   stays gapless).
//! - **Beyond read models**: a projection may take events as stored
//!   ([`Projection::apply_stored`]), run when the log has nothing new
//!   ([`Projection::runs_idle`]) and name errors of its own that pass by themselves
//!   ([`Projection::fails_in_passing`]): the relay to NATS does all three.
//! - **Shutdown**: the batch in flight commits or rolls back, then the lock is released.

use std::sync::Arc;
use std::time::Duration;

use cqrs_es::persist::EventUpcaster;
use event_store::{AppendError, EventLog, LogFilter, LogPosition, RecordedEvent};
use futures_util::future::BoxFuture;
use sqlx::{Connection, PgConnection};
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use crate::decode::{decode, Envelope};
use crate::status::{FAILED, RETRYING, RUNNING, STOPPED};

/// A read model (or process manager) fed from the log.
pub trait Projection: Send + Sync + 'static {
    /// The name in `projection_checkpoints`, `oms projections status` and GraphQL.
    fn name(&self) -> &'static str;

    /// The aggregate types whose events it consumes; others are passed over (its
    /// checkpoint still moves past them), so an event it does not read cannot fail it.
    /// Its reads of the log carry the others without their payload and metadata.
    fn aggregate_types(&self) -> &'static [&'static str];

    /// The tables it owns, the one its batches touch first first (a rebuild locks them in
    /// this order, the order a live batch takes them, so the two never deadlock).
    fn tables(&self) -> &'static [&'static str];

    /// Whether its batches append events to the log (a process manager's follow-ups, with
    /// [`EventLog::append_within`] as the batch transaction's first write): the runtime
    /// then wakes the process's log readers after each commit.
    fn appends_events(&self) -> bool {
        false
    }

    /// Whether the views its batches change are kept for the relay
    /// ([`crate::order_views`]: the orders' enriched views): recorded in each live batch's
    /// transaction, never in a rebuild's.
    fn keeps_views(&self) -> bool {
        false
    }

    /// Whether it runs a batch when the log has nothing new (on the follower's periodic
    /// poll): for a projection with work of its own besides the log's events (the relay's
    /// kept views).
    fn runs_idle(&self) -> bool {
        false
    }

    /// Whether `error` from one of its batches passes by itself, as a database outage does
    /// (`event_store::transient`, always waited out): waited out as `RETRYING` too, never
    /// counted against the batch. The relay's broker outages are.
    fn fails_in_passing(&self, _error: &anyhow::Error) -> bool {
        false
    }

    /// Applies a batch as the log stores it. The default decodes (and upcasts) the events
    /// of [`Projection::aggregate_types`] and hands them to [`Projection::apply`]; one that
    /// passes events on as they are stored (the relay) takes them here.
    fn apply_stored<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [RecordedEvent],
        upcasters: &'a [Box<dyn EventUpcaster>],
    ) -> BoxFuture<'a, anyhow::Result<Changed>> {
        Box::pin(async move {
            let envelopes = decode_for(self.aggregate_types(), events, upcasters)?;
            if envelopes.is_empty() {
                return Ok(Changed::new());
            }
            self.apply(tx, &envelopes).await
        })
    }

    /// Applies a batch, in order, inside `tx`; the runtime advances the checkpoint in the
    /// same transaction. Must be deterministic in the events alone (replays give the same
    /// tables as the live run). Returns the keys of the view rows live readers follow that
    /// the batch changed (orders: order ids), announced with the commit; most return none.
    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope],
    ) -> BoxFuture<'a, anyhow::Result<Changed>>;
}

/// Keys of view rows a batch changed (see [`Projection::apply`]).
pub type Changed = Vec<Uuid>;

/// Tuning of the runtime.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// The most events applied in one transaction.
    pub batch_size: u32,
    /// Attempts at a failing batch before the projection is `FAILED`.
    pub max_attempts: u32,
    /// How often a standby tries to become the owner.
    pub standby_poll: Duration,
    /// First wait after a failed attempt (doubles each time).
    pub retry_backoff: Duration,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            max_attempts: 4,
            standby_poll: Duration::from_secs(1),
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// Stops the runtime: send `true`.
pub type Shutdown = watch::Receiver<bool>;

/// Runs projections until shutdown.
#[derive(Clone)]
pub struct Runtime {
    log: EventLog,
    projections: Vec<Arc<dyn Projection>>,
    upcasters: Arc<Vec<Box<dyn EventUpcaster>>>,
    options: RuntimeOptions,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.projections.iter().map(|p| p.name()).collect();
        f.debug_struct("Runtime")
            .field("projections", &names)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A runtime running in a task of its own ([`Runtime::spawn`]).
#[derive(Debug)]
pub struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops it: each worker commits or rolls back its batch in flight and releases its
    /// lock; returns once all have stopped.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.join().await;
    }

    /// Kills it wherever it is, as the death of its process would: no batch in flight
    /// commits (its connections go when its pool does).
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Waits until it has stopped (after its stop sender said so).
    pub async fn join(self) {
        if let Err(error) = self.task.await {
            if error.is_panic() {
                std::panic::resume_unwind(error.into_panic());
            }
        }
    }
}

/// How a worker's time as owner ended.
enum Ended {
    Shutdown,
    LostOwnership,
    Failed(anyhow::Error),
}

impl Runtime {
    pub fn new(
        log: EventLog,
        projections: Vec<Arc<dyn Projection>>,
        options: RuntimeOptions,
    ) -> Self {
        Self {
            log,
            projections,
            upcasters: Arc::new(domain::events::upcasters()),
            options,
        }
    }

    /// Runs in a task of its own until [`Running::stop`].
    pub fn spawn(self) -> Running {
        self.spawn_stopped_by(watch::Sender::new(false))
    }

    /// [`Runtime::spawn`], stopped also when `stop` (shared with the process's other
    /// services) says `true`.
    pub fn spawn_stopped_by(self, stop: watch::Sender<bool>) -> Running {
        let shutdown = stop.subscribe();
        Running {
            stop,
            task: tokio::spawn(self.run(shutdown)),
        }
    }

    /// Runs every projection's worker until `shutdown`; returns when all have stopped.
    /// Dropping the returned future (aborting its task) aborts every worker with it, as the
    /// death of the process would.
    pub async fn run(self, shutdown: Shutdown) {
        let mut workers = tokio::task::JoinSet::new();
        for projection in &self.projections {
            let runtime = self.clone();
            let projection = projection.clone();
            let shutdown = shutdown.clone();
            workers.spawn(async move { runtime.worker(projection, shutdown).await });
        }
        while let Some(ended) = workers.join_next().await {
            if let Err(error) = ended {
                tracing::error!(%error, "a projection worker panicked");
            }
        }
    }

    /// One projection: wait to own it, run it, and say how it ended.
    async fn worker(&self, projection: Arc<dyn Projection>, mut shutdown: Shutdown) {
        let name = projection.name();
        loop {
            let Some(mut lock) = self.become_owner(name, &mut shutdown).await else {
                return;
            };
            tracing::info!(projection = name, "running");
            let ended = self
                .run_owned(projection.as_ref(), &mut lock, &mut shutdown)
                .await;
            let (state, error) = match &ended {
                Ended::Shutdown => (STOPPED, None),
                Ended::LostOwnership => (RUNNING, None),
                Ended::Failed(error) => (FAILED, Some(format!("{error:#}"))),
            };
            if !matches!(ended, Ended::LostOwnership) {
                if let Err(e) = set_state(&mut lock, name, state, error.as_deref()).await {
                    tracing::warn!(projection = name, error = %e, "could not record the projection's state");
                }
            }
            let _ = lock.close().await; // releases the advisory lock
            match ended {
                Ended::Shutdown => return tracing::info!(projection = name, "stopped"),
                Ended::Failed(error) => {
                    return tracing::error!(
                        projection = name,
                        error = format!("{error:#}"),
                        "failed; stopped until restarted"
                    );
                }
                Ended::LostOwnership => tracing::warn!(
                    projection = name,
                    "another worker advanced the checkpoint; standing by"
                ),
            }
        }
    }

    /// Waits until this worker holds the projection's lock (`None`: shut down first).
    async fn become_owner(&self, name: &str, shutdown: &mut Shutdown) -> Option<PgConnection> {
        loop {
            if *shutdown.borrow() {
                return None;
            }
            match self.try_lock(name).await {
                Ok(Some(connection)) => return Some(connection),
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!(projection = name, %error, "cannot reach the database to take ownership");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.options.standby_poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn try_lock(&self, name: &str) -> Result<Option<PgConnection>, sqlx::Error> {
        let mut connection = self.log.pool().acquire().await?.detach();
        if !crate::locks::try_lock(&mut connection, &format!("oms.projection.{name}")).await? {
            let _ = connection.close().await;
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .execute(&mut connection)
        .await?;
        set_state(&mut connection, name, RUNNING, None).await?;
        Ok(Some(connection))
    }

    async fn run_owned(
        &self,
        projection: &dyn Projection,
        lock: &mut PgConnection,
        shutdown: &mut Shutdown,
    ) -> Ended {
        let name = projection.name();
        let mut outage = Outage::default();
        // Start-up reads the database too: an outage here is waited out like any other.
        let batch_size = self.options.batch_size;
        let mut log = loop {
            let started = async {
                let checkpoint = load_checkpoint(&self.log, name).await?;
                self.log
                    .follow(checkpoint, batch_size, follows(projection))
                    .await
            };
            match started.await {
                Ok(following) => break following,
                Err(error) if event_store::is_transient(&error) => {
                    let error = anyhow::Error::new(error).context("starting");
                    if self
                        .wait_out(name, lock, &mut outage, &error, shutdown)
                        .await
                    {
                        return Ended::Shutdown;
                    }
                }
                Err(error) => return Ended::Failed(anyhow::Error::new(error).context("starting")),
            }
        };
        let mut failures = 0;
        let mut conflicts = 0;
        // The next batch, read while the last one was applied (catching up).
        let mut ahead: Option<event_store::LogBatch> = None;
        loop {
            if *shutdown.borrow() {
                return Ended::Shutdown;
            }
            let read = match ahead.take() {
                Some(batch) => Ok(batch),
                None => tokio::select! {
                    read = log.next() => read,
                    _ = shutdown.changed() => continue,
                },
            };
            let batch = match read {
                Ok(batch) => batch,
                Err(error) => {
                    let error = anyhow::Error::new(error).context("reading the log");
                    if is_transient(&error) {
                        if self
                            .wait_out(name, lock, &mut outage, &error, shutdown)
                            .await
                        {
                            return Ended::Shutdown;
                        }
                        continue;
                    }
                    return Ended::Failed(error);
                }
            };
            if batch.events.is_empty() && !projection.runs_idle() {
                if outage.since.is_some() {
                    outage.over(name, lock).await;
                }
                continue;
            }
            let checkpoint = log.position();
            let started = std::time::Instant::now();
            let span = tracing::info_span!(
                "projection batch",
                projection = name,
                events = batch.events.len(),
                from = checkpoint.position,
                to = batch.next.position,
            );
            let applying = self
                .apply_batch(projection, checkpoint, batch.next, &batch.events)
                .instrument(span);
            // A full batch means more are waiting: read the next one meanwhile.
            let (applied, read_ahead) = if batch.events.len() >= batch_size as usize {
                let (applied, read) = tokio::join!(applying, log.read_ahead(batch.next));
                (applied, read.ok().filter(|next| !next.events.is_empty()))
            } else {
                (applying.await, None)
            };
            match applied {
                Ok(true) => {
                    if !batch.events.is_empty() {
                        crate::metrics::batch(name, batch.events.len(), started.elapsed());
                    }
                    log.advance(batch.next);
                    ahead = read_ahead;
                    failures = 0;
                    conflicts = 0;
                    outage = Outage::default(); // the checkpoint update set RUNNING
                }
                Ok(false) => return Ended::LostOwnership,
                Err(error) if is_conflict(&error) && conflicts < MAX_CONFLICTS => {
                    // A command wrote an aggregate the batch appends to: decide again on
                    // fresh state. Not a failure of the batch (unless it never ends, which
                    // only a bug could make it do: then it counts as one).
                    conflicts += 1;
                    tracing::debug!(
                        projection = name,
                        "batch conflicted with a command; retrying"
                    );
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..=10))).await;
                    continue;
                }
                Err(error) if is_transient(&error) || projection.fails_in_passing(&error) => {
                    if self
                        .wait_out(name, lock, &mut outage, &error, shutdown)
                        .await
                    {
                        return Ended::Shutdown;
                    }
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(
                        projection = name,
                        attempt = failures,
                        error = format!("{error:#}"),
                        "batch failed"
                    );
                    if failures >= self.options.max_attempts {
                        return Ended::Failed(error);
                    }
                    let backoff = self.options.retry_backoff * 2_u32.saturating_pow(failures - 1);
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
        }
    }

    /// Records that the database is failing in passing (state `RETRYING` with the error)
    /// and waits before the next try, longer each time up to [`MAX_OUTAGE_BACKOFF`]. `true`:
    /// shut down meanwhile.
    async fn wait_out(
        &self,
        name: &str,
        lock: &mut PgConnection,
        outage: &mut Outage,
        error: &anyhow::Error,
        shutdown: &mut Shutdown,
    ) -> bool {
        let message = format!("{error:#}");
        if outage.since.is_none() || outage.recorded.as_deref() != Some(message.as_str()) {
            tracing::warn!(projection = name, error = %message, "the database is failing; retrying until it is back");
            // Best effort, on the owner's own connection (it may outlive what broke the
            // pool's), else the pool's; while the database is down both fail, and that is
            // fine: the next try records it.
            let recorded = match set_state(&mut *lock, name, RETRYING, Some(&message)).await {
                Ok(()) => true,
                Err(_) => set_state(self.log.pool(), name, RETRYING, Some(&message))
                    .await
                    .is_ok(),
            };
            if recorded {
                outage.recorded = Some(message);
            }
        }
        let since = *outage.since.get_or_insert_with(std::time::Instant::now);
        let backoff = (self.options.retry_backoff * 2_u32.saturating_pow(outage.tries.min(16)))
            .min(MAX_OUTAGE_BACKOFF);
        outage.tries += 1;
        tracing::debug!(projection = name, down_for = ?since.elapsed(), "waiting for the database");
        tokio::select! {
            () = tokio::time::sleep(backoff) => false,
            _ = shutdown.changed() => true,
        }
    }

    /// Applies one batch and advances the checkpoint from `from` to `to`, atomically.
    /// `Ok(false)`: the checkpoint had moved (another owner): nothing was applied.
    ///
    /// A batch holding nothing the projection reads (and a projection that has no work
    /// of its own) only moves the checkpoint: one statement, no transaction. Most batches
    /// are such for most projections (a restock concerns `products` alone), and a
    /// transaction costs four round trips more.
    async fn apply_batch(
        &self,
        projection: &dyn Projection,
        from: LogPosition,
        to: LogPosition,
        events: &[RecordedEvent],
    ) -> anyhow::Result<bool> {
        let name = projection.name();
        if !has_work(projection, events) {
            let mut lease = self.log.leases().lease().await?;
            let advanced = advance(&mut lease, name, from, to, &[]).await;
            return Ok(lease.finished(advanced)?);
        }
        let mut tx = self.log.begin().await?;
        let changed = projection
            .apply_stored(&mut tx, events, &self.upcasters)
            .await?;
        let kept_views =
            projection.keeps_views() && crate::order_views::record(&mut tx, &changed).await?;
        if !advance(&mut tx, name, from, to, &changed).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        // Appended events, and views kept for the relay, are news for the log's readers.
        if projection.appends_events() || kept_views {
            self.log.announce();
        }
        Ok(true)
    }
}

/// What `projection` reads of the log: every event, but the payloads of its own aggregate
/// types only (it passes the others by).
fn follows(projection: &dyn Projection) -> LogFilter {
    LogFilter {
        payloads_of: Some(projection.aggregate_types()),
        ..LogFilter::default()
    }
}

/// Whether a batch of `events` gives `projection` anything to do besides moving its
/// checkpoint: an event of a type it reads, or work of its own.
fn has_work(projection: &dyn Projection, events: &[RecordedEvent]) -> bool {
    projection.runs_idle()
        || events
            .iter()
            .any(|event| of_types(projection.aggregate_types(), event))
}

/// Whether `event` is of one of the aggregate types `wanted`.
fn of_types(wanted: &[&str], event: &RecordedEvent) -> bool {
    wanted.contains(&event.aggregate_type.as_str())
}

/// Moves `name`'s checkpoint from `from` to `to` (state `RUNNING`) and announces it with
/// the view rows `changed` ([`crate::notify`]), in one statement: inside the batch's
/// transaction, or alone. `false`: the checkpoint was not at `from` (another owner
/// moved it), so nothing was announced.
async fn advance(
    connection: &mut PgConnection,
    name: &str,
    from: LogPosition,
    to: LogPosition,
    changed: &[Uuid],
) -> Result<bool, sqlx::Error> {
    let payloads = crate::notify::payloads(name, to, changed);
    let announced = sqlx::query(
        "WITH advanced AS (
           UPDATE projection_checkpoints
           SET transaction_id = $4, position = $5, state = 'RUNNING', last_error = NULL, updated_at = now()
           WHERE name = $1 AND transaction_id = $2 AND position = $3
           RETURNING name)
         SELECT pg_notify($6, p.payload)
         FROM advanced, UNNEST($7::text[]) WITH ORDINALITY AS p(payload, n)
         ORDER BY p.n",
    )
    .bind(name)
    .bind(from.transaction_id)
    .bind(from.position)
    .bind(to.transaction_id)
    .bind(to.position)
    .bind(crate::notify::CHANNEL)
    .bind(&payloads)
    .execute(connection)
    .await?;
    Ok(announced.rows_affected() > 0)
}

/// The events of `events` of the aggregate types `wanted`, decoded.
pub(crate) fn decode_for(
    wanted: &[&str],
    events: &[RecordedEvent],
    upcasters: &[Box<dyn EventUpcaster>],
) -> anyhow::Result<Vec<Envelope>> {
    events
        .iter()
        .filter(|event| of_types(wanted, event))
        .map(|event| {
            decode(event, upcasters).map_err(|e| {
                e.context(format!(
                    "decoding event at position {} ({})",
                    event.position, event.event_type
                ))
            })
        })
        .collect()
}

/// Conflicts in a row after which a batch's conflict counts as a failed attempt.
const MAX_CONFLICTS: u32 = 200;

/// The longest wait between tries while the database fails in passing.
const MAX_OUTAGE_BACKOFF: Duration = Duration::from_secs(5);

/// A stretch of transient database failures.
#[derive(Debug, Default)]
struct Outage {
    since: Option<std::time::Instant>,
    tries: u32,
    /// The error recorded with `RETRYING`, so that a long outage writes it once.
    recorded: Option<String>,
}

impl Outage {
    /// The database answers again but no batch came to reset the state: back to RUNNING.
    async fn over(&mut self, name: &str, lock: &mut PgConnection) {
        if set_state(lock, name, RUNNING, None).await.is_ok() {
            tracing::info!(projection = name, "the database is back");
            *self = Self::default();
        }
    }
}

/// A database failure that passes by itself, anywhere in the chain (`event_store::transient`).
fn is_transient(error: &anyhow::Error) -> bool {
    error.chain().any(event_store::is_transient_cause)
}

/// The batch's own append lost an optimistic-lock race (see [`Projection::appends_events`]).
fn is_conflict(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<AppendError>(),
            Some(AppendError::Conflict)
        )
    })
}

async fn load_checkpoint(log: &EventLog, name: &str) -> Result<LogPosition, sqlx::Error> {
    let (transaction_id, position): (i64, i64) = sqlx::query_as(
        "SELECT transaction_id, position FROM projection_checkpoints WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(log.pool())
    .await?
    .unwrap_or((0, 0));
    Ok(LogPosition {
        transaction_id,
        position,
    })
}

async fn set_state<'c, E>(
    executor: E,
    name: &str,
    state: &str,
    error: Option<&str>,
) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'c>,
{
    sqlx::query("UPDATE projection_checkpoints SET state = $2, last_error = $3, updated_at = now() WHERE name = $1")
        .bind(name)
        .bind(state)
        .bind(error)
        .execute(executor)
        .await
        .map(|_| ())
}
