//! Connections kept between statements by the request path that runs them, without a
//! round trip at each hand-back.
//!
//! sqlx 0.8 checks every connection given back to its pool with a round trip (a `Sync`
//! and its answer; it cannot be turned off): a one-statement GraphQL read costs two
//! round trips, two wake-ups of the server process, and the second is pure overhead.
//! [`Leases`] sits over a [`PgPool`] and keeps the connections it took from it: a
//! statement that ended cleanly (`Ok`, or an error the server reported that leaves the
//! session usable) gives its connection back to the leases, unchecked. Everything else
//! goes back to sqlx, which checks it as before:
//!
//! - a connection whose statement failed in any other way (I/O, protocol, the server
//!   ending the session: [`crate::is_broken`]), or whose future was dropped mid-statement
//!   (it leaves at most unread answers behind, which sqlx would read off before the
//!   connection's next statement);
//! - one held for longer than [`RECYCLE_AFTER`], so that sqlx's lifetime limits apply;
//! - every kept connection, when a statement found its session gone.
//!
//! A connection left unused for longer than [`crate::CHECK_IDLE_AFTER`] goes back to sqlx
//! (a task looks every [`crate::CHECK_IDLE_AFTER`]), where the pool's idle timeout and
//! its check before use ([`crate::pool_options`]) apply, and so does `PgPool::close`,
//! which waits for every connection; one taken before that task came by is checked
//! before it is used again.
//!
//! At most `max` connections are leased at once, and at most `max` kept, so the pool's
//! other users keep the rest of it; with `max` 0 nothing is kept (and one is leased at a
//! time), for pools too small to share. Leases are for statements outside transactions:
//! a transaction's connection goes through the pool as before.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, PgPool, Postgres};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection taken from sqlx's pool goes back to it after this long.
pub const RECYCLE_AFTER: Duration = Duration::from_secs(60);

/// Connections of a pool kept by their users (see the module's documentation).
#[derive(Debug, Clone)]
pub struct Leases {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    /// One permit per connection that may be leased now (kept or yet to be taken).
    permits: Arc<Semaphore>,
    /// The most connections kept.
    keep: usize,
    kept: Mutex<Vec<Kept>>,
}

#[derive(Debug)]
struct Kept {
    connection: PoolConnection<Postgres>,
    /// When it was taken from sqlx's pool.
    taken: Instant,
    /// When its last statement ended.
    used: Instant,
}

impl Leases {
    /// Leases over `pool`, at most `max` connections at once (0: see the module). Must
    /// be called inside a Tokio runtime: it starts the task that gives idle connections
    /// back.
    pub fn new(pool: PgPool, max: usize) -> Self {
        let inner = Arc::new(Inner {
            pool,
            permits: Arc::new(Semaphore::new(max.max(1))),
            keep: max,
            kept: Mutex::new(Vec::new()),
        });
        tokio::spawn(give_back_idle(Arc::downgrade(&inner)));
        Self { inner }
    }

    /// The pool the leases take their connections from.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// A connection for one statement: a kept one (the most recently used, checked
    /// first if it sat unused for long), else one from the pool. Give it back with
    /// [`Lease::finished`].
    pub async fn lease(&self) -> Result<Lease, sqlx::Error> {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let kept = match self.take_kept().await {
            Some(kept) => kept,
            None => Kept {
                connection: self.inner.pool.acquire().await?,
                taken: Instant::now(),
                used: Instant::now(),
            },
        };
        Ok(Lease {
            kept: Some(kept),
            clean: false,
            inner: self.inner.clone(),
            _permit: permit,
        })
    }

    async fn take_kept(&self) -> Option<Kept> {
        loop {
            let mut kept = self.inner.kept.lock().ok()?.pop()?;
            if kept.used.elapsed() <= crate::CHECK_IDLE_AFTER
                || kept.connection.ping().await.is_ok()
            {
                return Some(kept);
            }
            // Broken: sqlx closes it.
            drop(kept);
        }
    }
}

/// A leased connection. Dropped without [`Lease::finished`] (its statement's future was
/// dropped), it goes back to sqlx's pool, which checks it.
#[derive(Debug)]
pub struct Lease {
    kept: Option<Kept>,
    /// Its statement ended cleanly: it may be kept unchecked.
    clean: bool,
    inner: Arc<Inner>,
    /// Released after the connection is kept (fields drop after `Drop::drop`).
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// Gives the connection back after its statement answered `result`, which it returns.
    pub fn finished<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        self.clean = match &result {
            Ok(_) => true,
            Err(error) if crate::transient::is_broken(error) => {
                // What broke this session (a restart, sessions ended) likely broke the
                // kept ones too: sqlx checks them all before they serve again.
                let kept = self
                    .inner
                    .kept
                    .lock()
                    .map(|mut kept| std::mem::take(&mut *kept));
                drop(kept);
                false
            }
            Err(error) => error.as_database_error().is_some(),
        };
        result
    }
}

impl Deref for Lease {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match &self.kept {
            Some(kept) => &kept.connection,
            None => unreachable!("a lease holds its connection until dropped"),
        }
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.kept {
            Some(kept) => &mut kept.connection,
            None => unreachable!("a lease holds its connection until dropped"),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut kept) = self.kept.take() else {
            return;
        };
        if self.clean && kept.taken.elapsed() < RECYCLE_AFTER && !self.inner.pool.is_closed() {
            kept.used = Instant::now();
            if let Ok(mut all) = self.inner.kept.lock() {
                if all.len() < self.inner.keep {
                    all.push(kept);
                }
            }
        }
    }
}

/// Every [`crate::CHECK_IDLE_AFTER`], gives the kept connections unused for that long back
/// to sqlx (all of them once the pool is closing); ends with the last [`Leases`].
async fn give_back_idle(inner: std::sync::Weak<Inner>) {
    let mut ticks = tokio::time::interval(crate::CHECK_IDLE_AFTER);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let closing = inner.pool.is_closed();
        let idle: Vec<Kept> = match inner.kept.lock() {
            Ok(mut kept) => {
                let (idle, busy) = std::mem::take(&mut *kept)
                    .into_iter()
                    .partition(|k: &Kept| closing || k.used.elapsed() >= crate::CHECK_IDLE_AFTER);
                *kept = busy;
                idle
            }
            Err(_) => Vec::new(),
        };
        drop(idle);
    }
}
