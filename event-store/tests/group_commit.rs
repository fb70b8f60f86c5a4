//! Group commit: appends queued together share one transaction, and each still succeeds
//! or fails on its own.

use std::collections::HashMap;
use std::time::Duration;

use cqrs_es::persist::SerializedEvent;
use event_store::testing::TestDatabase;
use event_store::{AppendError, EventLog};
use serde_json::json;
use tokio::sync::watch;

/// As many as `event_store`'s committers: holding this many appends open keeps every
/// committer busy.
const COMMITTERS: usize = 4;

fn event(aggregate_id: &str, sequence: usize) -> SerializedEvent {
    SerializedEvent {
        aggregate_id: aggregate_id.to_owned(),
        sequence,
        aggregate_type: "Counter".to_owned(),
        event_type: "Incremented".to_owned(),
        event_version: "1".to_owned(),
        payload: json!({ "Incremented": { "by": 1 } }),
        metadata: json!({}),
    }
}

/// Why a test append failed.
#[derive(Debug)]
enum Failure {
    /// Its own writes refused it.
    Refused,
    Append(AppendError),
}

impl From<AppendError> for Failure {
    fn from(error: AppendError) -> Self {
        Self::Append(error)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Self::Append(AppendError::Database(error))
    }
}

/// What a queued append does after its insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Succeed,
    Refuse,
    /// Runs a statement that fails (division by zero).
    FailInTheDatabase,
}

/// Appends `id`'s first event, doing `then` after the insert.
fn append(log: &EventLog, id: String, then: Then) -> tokio::task::JoinHandle<Result<(), Failure>> {
    let log = log.clone();
    tokio::spawn(async move {
        log.append_then(&[event(&id, 1)], move |tx, _| {
            Box::pin(async move {
                match then {
                    Then::Succeed => Ok(()),
                    Then::Refuse => Err(Failure::Refused),
                    Then::FailInTheDatabase => {
                        sqlx::query("SELECT 1 / 0").execute(&mut *tx).await?;
                        Ok(())
                    }
                }
            })
        })
        .await
        .map(drop)
    })
}

/// Keeps every committer in a transaction of its own until `release` says so.
async fn hold_every_committer(
    log: &EventLog,
    release: &watch::Sender<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut holders = Vec::new();
    for n in 0..COMMITTERS {
        let (inside, entered) = tokio::sync::oneshot::channel();
        let mut released = release.subscribe();
        let log = log.clone();
        holders.push(tokio::spawn(async move {
            log.append_then(&[event(&format!("holder-{n}"), 1)], move |_, _| {
                Box::pin(async move {
                    let _ = inside.send(());
                    let _ = released.wait_for(|go| *go).await;
                    Ok::<_, AppendError>(())
                })
            })
            .await
            .expect("a holder's append");
        }));
        // One at a time, so that each is alone in its group and takes a committer.
        entered.await.expect("the holder is inside its transaction");
    }
    holders
}

#[tokio::test]
async fn queued_appends_share_a_transaction_and_each_fails_alone() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let (release, _) = watch::channel(false);
    let holders = hold_every_committer(&log, &release).await;

    // Queued while every committer is busy: they are grouped when one frees up.
    let mut appends = Vec::new();
    for n in 0..24 {
        let then = match n % 6 {
            1 => Then::Refuse,
            4 => Then::FailInTheDatabase,
            _ => Then::Succeed,
        };
        appends.push((
            format!("member-{n}"),
            then,
            append(&log, format!("member-{n}"), then),
        ));
    }
    // Two appends of the same aggregate's first event: one wins, the other conflicts.
    let twins = [
        append(&log, "twin".into(), Then::Succeed),
        append(&log, "twin".into(), Then::Succeed),
    ];
    tokio::time::sleep(Duration::from_millis(300)).await;
    release.send_replace(true);
    for holder in holders {
        holder.await.expect("holder");
    }

    let mut committed = Vec::new();
    for (id, then, append) in appends {
        let result = tokio::time::timeout(Duration::from_secs(30), append)
            .await
            .expect("an append answers")
            .expect("append task");
        match (then, result) {
            (Then::Succeed, Ok(())) => committed.push(id),
            (Then::Refuse, Err(Failure::Refused)) => {}
            (Then::FailInTheDatabase, Err(Failure::Append(AppendError::Database(e)))) => {
                assert!(e.to_string().contains("division by zero"), "{e}");
            }
            (then, result) => panic!("{id} ({then:?}) ended {result:?}"),
        }
    }
    let mut twin_results = Vec::new();
    for twin in twins {
        twin_results.push(twin.await.expect("twin task"));
    }
    assert_eq!(
        twin_results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{twin_results:?}"
    );
    assert!(
        twin_results
            .iter()
            .any(|r| matches!(r, Err(Failure::Append(AppendError::Conflict)))),
        "{twin_results:?}"
    );

    let events = event_store::testing::read_all(&log).await;
    let members: HashMap<&str, i64> = events
        .iter()
        .filter(|e| e.aggregate_id.starts_with("member-"))
        .map(|e| (e.aggregate_id.as_str(), e.transaction_id))
        .collect();
    let mut in_log: Vec<&str> = members.keys().copied().collect();
    in_log.sort_unstable();
    let mut expected: Vec<&str> = committed.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(
        in_log, expected,
        "exactly the successful appends are in the log"
    );
    assert_eq!(
        events.iter().filter(|e| e.aggregate_id == "twin").count(),
        1
    );

    let mut transactions: Vec<i64> = members.values().copied().collect();
    transactions.sort_unstable();
    transactions.dedup();
    assert!(
        transactions.len() < committed.len() / 2,
        "{} appends committed in {} transactions: they were not grouped",
        committed.len(),
        transactions.len()
    );
}

#[tokio::test]
async fn a_lone_append_commits_without_waiting_for_company() {
    let db = TestDatabase::new().await;
    let log = db.log();
    // Nothing else is queued: each append is a group of one and commits at once, in a
    // transaction of its own.
    for n in 1..=5 {
        tokio::time::timeout(Duration::from_secs(10), log.append(&[event("solo", n)]))
            .await
            .expect("a lone append does not wait")
            .expect("append");
    }
    let events = event_store::testing::read_all(&log).await;
    let mut transactions: Vec<i64> = events.iter().map(|e| e.transaction_id).collect();
    transactions.dedup();
    assert_eq!(transactions.len(), 5);
}

#[tokio::test]
async fn an_append_whose_caller_gave_up_before_its_turn_is_not_written() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let (release, _) = watch::channel(false);
    let holders = hold_every_committer(&log, &release).await;

    let kept = append(&log, "kept".into(), Then::Succeed);
    let abandoned = append(&log, "abandoned".into(), Then::Succeed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    abandoned.abort();
    assert!(abandoned.await.is_err_and(|e| e.is_cancelled()));
    release.send_replace(true);
    for holder in holders {
        holder.await.expect("holder");
    }
    kept.await.expect("task").expect("kept append");

    let events = event_store::testing::read_all(&log).await;
    let ids: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert!(ids.contains(&"kept"), "{ids:?}");
    assert!(!ids.contains(&"abandoned"), "{ids:?}");
}
