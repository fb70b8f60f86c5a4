//! Waking readers after a commit, without slowing the commit down.
//!
//! A `NOTIFY` inside the appending transaction would take PostgreSQL's cluster-wide
//! notification lock and hold it through the commit's WAL flush, serialising every
//! writer (docs/adr/0003). Instead each process announces after its commits, from one
//! task and one statement at a time: pokes that arrive while an announcement is under way
//! fold into the next one. A lost announcement (a crash right after commit) costs a reader
//! at most its fallback poll interval.

use std::time::Duration;

use tokio::sync::watch;

use crate::leases::Leases;

/// The channel readers `LISTEN` on.
pub const EVENTS_CHANNEL: &str = "oms_events";

#[derive(Debug)]
pub(crate) struct Announcer {
    poke: watch::Sender<u64>,
}

impl Announcer {
    /// Starts the announcing task; it ends when the announcer is dropped.
    pub(crate) fn start(leases: Leases) -> Self {
        let (poke, mut poked) = watch::channel(0u64);
        tokio::spawn(async move {
            while poked.changed().await.is_ok() {
                poked.mark_unchanged();
                if let Err(error) = announce(&leases).await {
                    // Readers fall back to polling; try again on the next commit.
                    tracing::debug!(%error, "could not announce new events");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        Self { poke }
    }

    /// Asks for an announcement; never blocks.
    pub(crate) fn poke(&self) {
        self.poke.send_modify(|n| *n = n.wrapping_add(1));
    }
}

async fn announce(leases: &Leases) -> Result<(), sqlx::Error> {
    let mut lease = leases.lease().await?;
    let done = sqlx::query("SELECT pg_notify($1, '')")
        .bind(EVENTS_CHANNEL)
        .execute(&mut *lease)
        .await;
    lease.finished(done).map(drop)
}
