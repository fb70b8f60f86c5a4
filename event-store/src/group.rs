//! Group commit: appends that arrive together share one transaction, and so one commit
//! and one wait for the disk, each member inside a savepoint of its own, so that one
//! member's conflict or failure rolls back that member alone (docs/adr/0015).
//!
//! [`EventLog::append_then`](crate::EventLog::append_then) queues its events and its
//! further writes as a [`Member`]. [`COMMITTERS`] tasks each take everything queued when
//! they are free (at most [`MAX_MEMBERS`]) and run it as one transaction:
//!
//! - `BEGIN`, then for each member `SAVEPOINT`, its events' insert, its further writes, and
//!   `ROLLBACK TO SAVEPOINT` when either failed; then `COMMIT`. A group of one runs as a
//!   lone append always did, with no savepoint.
//! - Every member hears its outcome once `COMMIT` has answered: a success is durable when
//!   the caller sees it, and a member refused or in conflict is decided again only once
//!   the events it lost to are committed and can be loaded.
//! - No window: a committer never waits for more members. Appends queue only while every
//!   committer is busy, so a lone writer waits for nothing, and under load a group is
//!   whatever arrived during the previous commit.
//! - Each member was loaded and decided before it was queued, and the group's transaction
//!   id is assigned at its first insert, after that: the log's order stays the order in
//!   which writers saw each other (docs/adr/0002).
//! - A group runs its members in the order of their aggregates (type, then id). A member
//!   inserting an aggregate's next sequence waits for another group that inserted it first;
//!   with every group taking aggregates in the same order, two groups never wait for each
//!   other. (Should they, through a member of several aggregates or a claim, PostgreSQL
//!   breaks the deadlock by failing one statement; that member is a conflict, decided
//!   again.)

use std::sync::Arc;

use cqrs_es::persist::SerializedEvent;
use futures_util::future::BoxFuture;
use sqlx::{PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot, Mutex};
use tracing::Instrument;

use crate::append::{insert_events, AppendError, Appended};

/// Transactions in flight at once. More than one, so that a group waiting for the disk or
/// for another transaction's lock does not hold up every writer.
pub(crate) const COMMITTERS: usize = 4;

/// The most members in one transaction. PostgreSQL keeps up to 64 subtransaction ids per
/// transaction where every snapshot can see them; past that, snapshots get slower for
/// every session.
pub(crate) const MAX_MEMBERS: usize = 32;

/// A member's further writes, run after its events are inserted. `true`: they succeeded.
/// They keep their own result for the caller.
pub(crate) type Writes =
    Box<dyn for<'c> FnOnce(&'c mut PgConnection, &'c Appended) -> BoxFuture<'c, bool> + Send>;

/// One append waiting for a transaction.
struct Member {
    events: Vec<SerializedEvent>,
    clock_offset: i64,
    writes: Writes,
    /// The caller's span: the member's statements are traced under it.
    span: tracing::Span,
    reply: oneshot::Sender<Outcome>,
}

/// What became of a member.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Its events and writes are committed.
    Committed(Appended),
    /// Its further writes failed (and said why to their caller); nothing of it is written.
    Refused,
    /// Another writer appended to one of its aggregates first; nothing of it is written.
    Conflict,
    /// The database failed; nothing of it is written, or the commit's outcome is unknown.
    Failed(sqlx::Error),
}

/// The queue of appends and the committers that empty it. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Member>,
}

impl GroupCommit {
    /// Starts the committers on `pool`. They stop once every handle is dropped.
    pub(crate) fn start(pool: &PgPool) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..COMMITTERS {
            tokio::spawn(committer(pool.clone(), receiver.clone()));
        }
        Self { queue }
    }

    /// Appends `events` (then runs `writes`) in the next group, and waits for the outcome.
    pub(crate) async fn submit(
        &self,
        events: Vec<SerializedEvent>,
        clock_offset: i64,
        writes: Writes,
    ) -> Outcome {
        let (reply, outcome) = oneshot::channel();
        let member = Member {
            events,
            clock_offset,
            writes,
            span: tracing::Span::current(),
            reply,
        };
        if self.queue.send(member).is_err() {
            return Outcome::Failed(sqlx::Error::PoolClosed);
        }
        outcome.await.unwrap_or_else(|_| {
            // A committer stopped (the runtime is shutting down) before answering.
            Outcome::Failed(sqlx::Error::WorkerCrashed)
        })
    }
}

async fn committer(pool: PgPool, queue: Arc<Mutex<mpsc::UnboundedReceiver<Member>>>) {
    let mut group = Vec::with_capacity(MAX_MEMBERS);
    loop {
        if queue.lock().await.recv_many(&mut group, MAX_MEMBERS).await == 0 {
            return; // every handle is gone
        }
        commit(&pool, std::mem::take(&mut group)).await;
    }
}

/// Runs `group` as one transaction and tells each member what became of it.
async fn commit(pool: &PgPool, mut group: Vec<Member>) {
    group.sort_by(|a, b| aggregate_of(a).cmp(&aggregate_of(b)));
    // A pooled connection broken while idle (a server restart) is replaced once.
    let mut tx = match crate::once_more_if_broken(|| pool.begin()).await {
        Ok(tx) => tx,
        Err(error) => return fail_all(group.into_iter().map(|m| m.reply), &error),
    };
    let shared = group.len() > 1;
    let mut told: Vec<(Outcome, oneshot::Sender<Outcome>)> = Vec::with_capacity(group.len());
    let mut members = group.into_iter();
    while let Some(member) = members.next() {
        let Member {
            events,
            clock_offset,
            writes,
            span,
            reply,
        } = member;
        if reply.is_closed() {
            // Its caller gave up waiting (a request past its deadline): nothing of it is
            // written, and it holds up no one behind it, as one waiting on a lock would.
            continue;
        }
        if shared {
            if let Err(error) = statement(&mut tx, "SAVEPOINT member").await {
                let rest = members.map(|m| m.reply);
                return lose(told, std::iter::once(reply).chain(rest), &error);
            }
        }
        let outcome = apply(&mut tx, &events, clock_offset, writes, shared)
            .instrument(span)
            .await;
        if shared && !matches!(outcome, Outcome::Committed(_)) {
            let undone = statement(&mut tx, "ROLLBACK TO SAVEPOINT member").await;
            if let Err(error) = undone {
                let rest = members.map(|m| m.reply);
                return lose(told, std::iter::once(reply).chain(rest), &error);
            }
        }
        told.push((outcome, reply));
    }
    let any_committed = told
        .iter()
        .any(|(outcome, _)| matches!(outcome, Outcome::Committed(_)));
    let ended = if any_committed {
        tx.commit().await
    } else {
        tx.rollback().await
    };
    for (outcome, reply) in told {
        let outcome = match (outcome, &ended) {
            (Outcome::Committed(_), Err(error)) => Outcome::Failed(copy_of(error)),
            (outcome, _) => outcome,
        };
        let _ = reply.send(outcome);
    }
}

/// The aggregate a member appends to first: the order of members in a group.
fn aggregate_of(member: &Member) -> Option<(&str, &str)> {
    let event = member.events.first()?;
    Some((event.aggregate_type.as_str(), event.aggregate_id.as_str()))
}

/// One member's statements: its events, then its further writes.
async fn apply(
    tx: &mut PgConnection,
    events: &[SerializedEvent],
    clock_offset: i64,
    writes: Writes,
    shared: bool,
) -> Outcome {
    let appended = match insert_events(tx, events, clock_offset).await {
        Ok(appended) => appended,
        Err(AppendError::Conflict) => return Outcome::Conflict,
        Err(AppendError::Database(error)) if shared && is_deadlock(&error) => {
            return Outcome::Conflict
        }
        Err(AppendError::Database(error)) => return Outcome::Failed(error),
    };
    if writes(tx, &appended).await {
        Outcome::Committed(appended)
    } else {
        Outcome::Refused
    }
}

/// The shared transaction is lost (a savepoint failed): nobody in it commits.
fn lose(
    told: Vec<(Outcome, oneshot::Sender<Outcome>)>,
    rest: impl Iterator<Item = oneshot::Sender<Outcome>>,
    error: &sqlx::Error,
) {
    let told = told.into_iter().map(|(outcome, reply)| match outcome {
        Outcome::Committed(_) => (None, reply),
        outcome => (Some(outcome), reply),
    });
    for (outcome, reply) in told {
        let _ = reply.send(outcome.unwrap_or_else(|| Outcome::Failed(copy_of(error))));
    }
    fail_all(rest, error);
}

async fn statement(conn: &mut PgConnection, sql: &'static str) -> sqlx::Result<()> {
    sqlx::query(sql).execute(conn).await.map(drop)
}

fn is_deadlock(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.code().as_deref() == Some("40P01"))
}

fn fail_all(replies: impl Iterator<Item = oneshot::Sender<Outcome>>, error: &sqlx::Error) {
    for reply in replies {
        let _ = reply.send(Outcome::Failed(copy_of(error)));
    }
}

/// The error a shared transaction's failure gives each of its members (sqlx errors do not
/// clone): an I/O error with its text, which callers treat as the database failing in
/// passing, since of the member nothing, or nothing known, was committed.
fn copy_of(error: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!(
        "the shared append transaction failed: {error}"
    )))
}
