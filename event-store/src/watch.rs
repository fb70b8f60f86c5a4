//! Following the log: waiting for new events without busy polling.

use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::announce::EVENTS_CHANNEL;
use crate::{EventLog, LogBatch, LogFilter, LogPosition};

/// How long a follower sleeps when nothing wakes it: an announcement can be lost (a
/// writer crashed right after its commit, or wrote without going through this crate).
pub const FALLBACK_POLL: Duration = Duration::from_secs(1);

/// How soon a follower looks again while readers are held back by an open transaction.
pub const HELD_BACK_POLL: Duration = Duration::from_millis(20);

/// Wakes a log follower when new events may be readable.
#[derive(Debug)]
pub struct LogWatcher {
    listener: Option<PgListener>,
    log: EventLog,
    fallback: Duration,
}

impl EventLog {
    /// Starts listening for commit announcements. Listen before the first read, so that no
    /// commit between that read and the first wait goes unnoticed.
    pub async fn watch(&self) -> Result<LogWatcher, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(EVENTS_CHANNEL).await?;
        Ok(LogWatcher {
            listener: Some(listener),
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
    /// passes. Errors never escape: a lost listener degrades to polling and is reconnected.
    pub async fn wait(&mut self, held_back: bool) {
        let timeout = if held_back {
            HELD_BACK_POLL
        } else {
            self.fallback
        };
        let Some(listener) = self.listener.as_mut() else {
            tokio::time::sleep(timeout).await;
            self.reconnect().await;
            return;
        };
        match tokio::time::timeout(timeout, listener.recv()).await {
            Ok(Ok(_)) => {
                // Several commits may have announced; one read covers them all.
                while listener.next_buffered().is_some() {}
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "lost the event listener; polling until it is back");
                self.listener = None;
            }
            Err(_elapsed) => {}
        }
    }

    async fn reconnect(&mut self) {
        match self.log.watch().await {
            Ok(watcher) => self.listener = watcher.listener,
            Err(error) => tracing::debug!(%error, "event listener still unavailable"),
        }
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
