//! The process's one database listener for everything GraphQL follows live.
//!
//! Projections announce each committed batch on [`projections::notify::CHANNEL`] (inside
//! the batch's transaction, so after it committed). The hub keeps the read models'
//! checkpoints (for read-your-writes and `extensions.position`) and, while anyone
//! subscribes, loads the orders a batch changed once and broadcasts them to every
//! subscription. Subscriptions read a bounded broadcast: one that falls behind loses its
//! place and is closed, it never holds the others up or makes memory grow.
//!
//! Notifications sent while the listener reconnects are lost, so after every (re)connect,
//! and every [`REFRESH`] without news, it reads the checkpoints from the database.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use event_store::{EventLog, LogPosition};
use projections::notify::{Committed, CHANNEL};
use projections::tables::orders::OrderRow;
use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, oneshot, watch};

use crate::read_models::fetch;

/// How often the checkpoints are read when no notification arrives.
pub const REFRESH: Duration = Duration::from_secs(5);

/// Changed-order batches a subscription may fall behind by before it is dropped.
pub const SUBSCRIBER_BACKLOG: usize = 256;

/// The checkpoints of the read models.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoints(BTreeMap<&'static str, LogPosition>);

impl Checkpoints {
    /// What every read model has applied: the least checkpoint (the start of the log
    /// while one has not run yet).
    pub fn reflected(&self) -> LogPosition {
        read_models()
            .iter()
            .map(|name| self.0.get(name).copied().unwrap_or(LogPosition::START))
            .min()
            .unwrap_or(LogPosition::START)
    }
}

/// The names of the read models GraphQL serves (the process manager is not one).
fn read_models() -> &'static [&'static str] {
    projections::read_model_names()
}

/// Orders a committed batch of the orders projection changed, as committed.
#[derive(Debug)]
pub struct OrdersChanged {
    pub checkpoint: LogPosition,
    pub orders: Vec<OrderRow>,
}

/// Log positions requests wait to see committed (`OMS-Min-Position` ahead of the log):
/// looked up together, one statement per notification, however many wait.
#[derive(Debug, Default)]
struct Lookups(std::sync::Mutex<Vec<(i64, oneshot::Sender<LogPosition>)>>);

impl Lookups {
    fn take(&self) -> Vec<(i64, oneshot::Sender<LogPosition>)> {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Requests that gave up (timed out, went away) wait no more.
        pending.retain(|(_, waiter)| !waiter.is_closed());
        std::mem::take(&mut *pending)
    }

    fn put_back(&self, unresolved: Vec<(i64, oneshot::Sender<LogPosition>)>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(unresolved);
    }
}

/// A handle on the hub; the listener stops when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Hub {
    checkpoints: watch::Receiver<Checkpoints>,
    orders: broadcast::Sender<Arc<OrdersChanged>>,
    lookups: Arc<Lookups>,
    _alive: watch::Receiver<()>,
}

impl Hub {
    /// Starts listening (and keeps trying while the database cannot be reached).
    pub fn start(log: EventLog) -> Self {
        Self::start_with_backlog(log, SUBSCRIBER_BACKLOG)
    }

    /// [`Hub::start`] with another subscriber backlog than [`SUBSCRIBER_BACKLOG`].
    pub fn start_with_backlog(log: EventLog, backlog: usize) -> Self {
        let (checkpoints_tx, checkpoints) = watch::channel(Checkpoints::default());
        let (orders, _) = broadcast::channel(backlog.max(1));
        let (alive_tx, alive) = watch::channel(());
        let lookups = Arc::new(Lookups::default());
        let listener = Listener {
            log,
            checkpoints: checkpoints_tx,
            orders: orders.clone(),
            lookups: lookups.clone(),
        };
        tokio::spawn(async move {
            tokio::select! {
                () = listener.run() => {}
                () = alive_tx.closed() => {}
            }
        });
        Self {
            checkpoints,
            orders,
            lookups,
            _alive: alive,
        }
    }

    /// Where the event at `position` stands in the log order, once it is committed: the
    /// hub looks for every waiting position with one statement after each notification.
    pub fn locate(&self, position: i64) -> oneshot::Receiver<LogPosition> {
        let (found, receiver) = oneshot::channel();
        self.lookups.put_back(vec![(position, found)]);
        receiver
    }

    /// The read models' checkpoints, as last heard.
    pub fn checkpoints(&self) -> watch::Receiver<Checkpoints> {
        self.checkpoints.clone()
    }

    /// What every read model has applied, as last heard: a lower bound (the hub hears of a
    /// commit just after it happened).
    pub fn reflected(&self) -> LogPosition {
        self.checkpoints.borrow().reflected()
    }

    /// Changed orders from now on.
    pub fn orders(&self) -> broadcast::Receiver<Arc<OrdersChanged>> {
        self.orders.subscribe()
    }
}

struct Listener {
    log: EventLog,
    checkpoints: watch::Sender<Checkpoints>,
    orders: broadcast::Sender<Arc<OrdersChanged>>,
    lookups: Arc<Lookups>,
}

impl Listener {
    async fn run(self) {
        loop {
            match self.listen().await {
                Ok(()) => tracing::debug!("GraphQL listener reconnecting"),
                Err(error) => {
                    tracing::warn!(%error, "GraphQL listener lost the database; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Until the connection is lost (`Ok`) or cannot be made (`Err`).
    async fn listen(&self) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(self.log.pool()).await?;
        listener.listen(CHANNEL).await?;
        self.refresh().await?;
        loop {
            match tokio::time::timeout(REFRESH, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => {
                    if let Some(committed) = Committed::parse(notification.payload()) {
                        self.committed(committed).await;
                    }
                }
                // The connection was lost: what was announced meanwhile is gone.
                Ok(Ok(None)) => return Ok(()),
                Ok(Err(error)) => return Err(error),
                Err(_quiet) => self.refresh().await?,
            }
            self.resolve().await;
        }
    }

    /// Looks up every waiting position in one statement; those not committed yet wait
    /// for the next notification.
    async fn resolve(&self) {
        let mut pending = self.lookups.take();
        if pending.is_empty() {
            return;
        }
        let positions: Vec<i64> = pending.iter().map(|(p, _)| *p).collect();
        let found: Result<Vec<(i64, i64)>, sqlx::Error> =
            sqlx::query_as("SELECT position, transaction_id FROM events WHERE position = ANY($1)")
                .bind(&positions)
                .fetch_all(self.log.pool())
                .await;
        match found {
            Ok(rows) => {
                let rows: BTreeMap<i64, i64> = rows.into_iter().collect();
                let mut unresolved = Vec::new();
                for (position, waiter) in pending.drain(..) {
                    match rows.get(&position) {
                        Some(&transaction_id) => {
                            let _ = waiter.send(LogPosition {
                                transaction_id,
                                position,
                            });
                        }
                        None => unresolved.push((position, waiter)),
                    }
                }
                self.lookups.put_back(unresolved);
            }
            Err(error) => {
                tracing::debug!(%error, "could not look up awaited positions; trying again");
                self.lookups.put_back(pending);
            }
        }
    }

    /// Reads every read model's checkpoint.
    async fn refresh(&self) -> Result<(), sqlx::Error> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT name, transaction_id, position FROM projection_checkpoints WHERE name = ANY($1)",
        )
        .bind(read_models())
        .fetch_all(self.log.pool())
        .await?;
        self.checkpoints.send_if_modified(|checkpoints| {
            let before = checkpoints.clone();
            for (name, transaction_id, position) in rows {
                if let Some(name) = read_models().iter().find(|n| **n == name) {
                    checkpoints.0.insert(
                        name,
                        LogPosition {
                            transaction_id,
                            position,
                        },
                    );
                }
            }
            *checkpoints != before
        });
        Ok(())
    }

    async fn committed(&self, committed: Committed) {
        let Some(name) = read_models().iter().find(|n| **n == committed.projection) else {
            return;
        };
        self.checkpoints.send_modify(|checkpoints| {
            checkpoints.0.insert(name, committed.checkpoint);
        });
        if *name == "orders" && !committed.changed.is_empty() && self.orders.receiver_count() > 0 {
            match fetch::orders(self.log.leases(), &committed.changed).await {
                Ok(orders) => {
                    let _ = self.orders.send(Arc::new(OrdersChanged {
                        checkpoint: committed.checkpoint,
                        orders,
                    }));
                }
                Err(error) => {
                    tracing::warn!(%error, "could not load changed orders for subscribers");
                }
            }
        }
    }
}
