//! Following the log: waiting for new events without busy polling.
//!
//! Each log has one `LISTEN` connection in this process, shared by all its followers
//! ([`Wakeups`]): PostgreSQL delivers every announcement to each listening session, so a
//! connection per follower made it wake and write to half a dozen sessions per commit.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::announce::EVENTS_CHANNEL;
use crate::{EventLog, LogBatch, LogFilter, LogPosition};

/// How long a follower sleeps when nothing wakes it: an announcement can be lost (a
/// writer crashed right after its commit, or wrote without going through this crate).
pub const FALLBACK_POLL: Duration = Duration::from_secs(1);

/// How soon a follower looks again while readers are held back by an open transaction.
pub const HELD_BACK_POLL: Duration = Duration::from_millis(20);

/// How long the shared listener waits before it tries its connection again.
const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

/// Wakes a log follower when new events may be readable.
#[derive(Debug)]
pub struct LogWatcher {
    woken: watch::Receiver<u64>,
    log: EventLog,
    fallback: Duration,
}

/// A log's listener shared by its watchers: a task holds the `LISTEN` connection and
/// counts what it hears (announcements, and each time it lost the connection, when some
/// may have been missed); each watcher waits for the count to change. The task ends when
/// the log and its watchers are gone, or when the pool closes.
#[derive(Debug, Default)]
pub(crate) struct Wakeups(tokio::sync::OnceCell<watch::Receiver<u64>>);

impl Wakeups {
    /// A receiver that changes with the next announcement; starts the listener (and
    /// waits until it listens) on first use.
    async fn subscribe(&self, pool: &PgPool) -> Result<watch::Receiver<u64>, sqlx::Error> {
        let first = self.0.get_or_try_init(|| listen(pool)).await?;
        let mut woken = first.clone();
        woken.mark_unchanged();
        Ok(woken)
    }
}

async fn listen(pool: &PgPool) -> Result<watch::Receiver<u64>, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(EVENTS_CHANNEL).await?;
    let (wake, woken) = watch::channel(0u64);
    tokio::spawn(forward(listener, wake));
    Ok(woken)
}

/// Counts what `listener` hears into `wake` until nobody watches or the pool closes.
async fn forward(mut listener: PgListener, wake: watch::Sender<u64>) {
    let mut lost = false;
    loop {
        let heard = tokio::select! {
            heard = listener.try_recv() => heard,
            () = wake.closed() => return,
        };
        match heard {
            Ok(Some(_)) => {
                // Several commits may have announced; one read covers them all.
                while listener.next_buffered().is_some() {}
                lost = false;
            }
            // Reconnected on the next try; announcements may have been missed meanwhile.
            Ok(None) => tracing::debug!("lost the event listener; reconnecting"),
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                if lost {
                    tracing::debug!(%error, "event listener still unavailable");
                } else {
                    tracing::warn!(%error, "lost the event listener; polling until it is back");
                    lost = true;
                }
                tokio::select! {
                    () = tokio::time::sleep(RECONNECT_PAUSE) => {}
                    () = wake.closed() => return,
                }
            }
        }
        wake.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl EventLog {
    /// Starts listening for commit announcements. Listen before the first read, so that no
    /// commit between that read and the first wait goes unnoticed.
    pub async fn watch(&self) -> Result<LogWatcher, sqlx::Error> {
        Ok(LogWatcher {
            woken: self.wakeups.subscribe(&self.pool).await?,
            log: self.clone(),
            fallback: FALLBACK_POLL,
        })
    }
}

impl LogWatcher {
    /// Changes how long [`LogWatcher::wait`] sleeps when nothing wakes it.
    #[must_use]
    pub fn with_fallback(mut self, fallback: Duration) -> Self {
        self.fallback = fallback;
        self
    }

    /// Waits until new events may be readable: an announcement arrives, the reader's last
    /// batch was `held_back` and it should look again soon, or the fallback interval
    /// passes. Errors never escape: while the listener is lost, followers poll.
    pub async fn wait(&mut self, held_back: bool) {
        let timeout = if held_back {
            HELD_BACK_POLL
        } else {
            self.fallback
        };
        // A closed channel (the log is being dropped) waits out the timeout.
        let woken = async {
            if self.woken.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let _ = tokio::time::timeout(timeout, woken).await;
    }
}

/// A reader following the log from a position ([`EventLog::follow`]): each
/// [`Following::next`] reads the next batch after where it stands, first waiting for news
/// (without busy polling) when the read before found nothing.
#[derive(Debug)]
pub struct Following {
    watcher: LogWatcher,
    after: LogPosition,
    limit: u32,
    filter: LogFilter,
    /// The last read found nothing: wait before the next (`held_back`: look again soon).
    caught_up: Option<bool>,
}

impl EventLog {
    /// Follows the log after `after`, `limit` events a batch at most. Listens before the
    /// first read, so no commit in between goes unnoticed.
    pub async fn follow(
        &self,
        after: LogPosition,
        limit: u32,
        filter: LogFilter,
    ) -> Result<Following, sqlx::Error> {
        Ok(Following {
            watcher: self.watch().await?,
            after,
            limit,
            filter,
            caught_up: None,
        })
    }
}

impl Following {
    /// The committed events after [`Following::position`], in log order ([`EventLog::read_after`]),
    /// after waiting for news if the last read found none. An empty batch: woken without
    /// anything readable yet. Does not move on: the caller does, with
    /// [`Following::advance`], once it has dealt with the batch (so a failed batch is read
    /// again).
    pub async fn next(&mut self) -> Result<LogBatch, sqlx::Error> {
        if let Some(held_back) = self.caught_up.take() {
            self.watcher.wait(held_back).await;
        }
        let batch = self
            .watcher
            .log
            .read_after(self.after, self.limit, &self.filter)
            .await?;
        if batch.events.is_empty() {
            self.caught_up = Some(batch.held_back);
        }
        Ok(batch)
    }

    /// The batch after `from` (the `next` of a batch still being dealt with), read now
    /// without waiting for news: a follower that is catching up reads its next batch while
    /// it applies this one. It does not move on either.
    pub async fn read_ahead(&self, from: LogPosition) -> Result<LogBatch, sqlx::Error> {
        self.watcher
            .log
            .read_after(from, self.limit, &self.filter)
            .await
    }

    /// Moves on to `to` (a batch's `next`).
    pub fn advance(&mut self, to: LogPosition) {
        self.after = to;
    }

    /// Where it stands: the next read returns the events after this.
    pub fn position(&self) -> LogPosition {
        self.after
    }
}
