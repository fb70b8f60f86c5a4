//! The global log order never skips, repeats or reorders an event, however writers
//! interleave, delay their commits or roll back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cqrs_es::persist::SerializedEvent;
use event_store::testing::TestDatabase;
use event_store::{AppendError, EventLog, LogFilter, LogPosition, RecordedEvent};
use serde_json::json;

const WRITERS: usize = 8;
const TARGET_EVENTS: usize = 20_000;
const AGGREGATES: usize = 64;

fn event(aggregate_id: &str, sequence: usize, tag: &str) -> SerializedEvent {
    SerializedEvent {
        aggregate_id: aggregate_id.to_owned(),
        sequence,
        aggregate_type: "RaceAggregate".to_owned(),
        event_type: "RaceHappened".to_owned(),
        event_version: "1".to_owned(),
        payload: json!({ "tag": tag }),
        metadata: json!({}),
    }
}

/// What the writers did, to compare with what the readers saw.
#[derive(Default)]
struct Ledger {
    committed: HashMap<i64, (String, i64)>,
    rolled_back_tags: HashSet<String>,
}

/// One writer: picks a random shared aggregate, loads its version (like cqrs-es does
/// before deciding), appends 1–5 events, sleeps 0–20 ms inside the open transaction, then
/// commits or (one time in eight) rolls back. Conflicts with other writers are retried.
async fn writer(id: usize, log: EventLog, ledger: Arc<Mutex<Ledger>>, appended: Arc<AtomicUsize>) {
    let mut rng = fastrand::Rng::with_seed(id as u64);
    let mut n = 0;
    while appended.load(Ordering::SeqCst) < TARGET_EVENTS {
        n += 1;
        let aggregate = format!("agg-{}", rng.usize(..AGGREGATES));
        let current = log
            .read_aggregate("RaceAggregate", &aggregate, 0)
            .await
            .expect("loading the aggregate")
            .last()
            .map_or(0, |e| e.sequence as usize);
        let count = rng.usize(1..=5);
        let tags: Vec<String> = (0..count).map(|i| format!("w{id}-t{n}-e{i}")).collect();
        let events: Vec<_> = tags
            .iter()
            .enumerate()
            .map(|(i, tag)| event(&aggregate, current + 1 + i, tag))
            .collect();
        let sleep = Duration::from_millis(rng.u64(0..=20));
        let roll_back = rng.usize(..8) == 0;
        let result = log
            .append_then(&events, move |_tx, _| {
                Box::pin(async move {
                    tokio::time::sleep(sleep).await;
                    if roll_back {
                        Err(AppendError::Conflict) // any error rolls the transaction back
                    } else {
                        Ok(())
                    }
                })
            })
            .await;
        let mut ledger = ledger.lock().expect("ledger lock");
        match result {
            Ok((done, ())) => {
                for (position, e) in done.positions.iter().zip(&events) {
                    ledger
                        .committed
                        .insert(*position, (aggregate.clone(), e.sequence as i64));
                }
                appended.fetch_add(count, Ordering::SeqCst);
            }
            Err(AppendError::Conflict) if roll_back => ledger.rolled_back_tags.extend(tags),
            Err(AppendError::Conflict) => {} // another writer won; retry with a fresh load
            Err(e) => panic!("append failed: {e}"),
        }
    }
}

/// The real reader: follows the log through `read_after` and the watcher.
async fn gapless_reader(log: EventLog, done: Arc<AtomicBool>) -> Vec<RecordedEvent> {
    let mut watcher = log.watch().await.expect("listening");
    let mut seen = Vec::new();
    let mut after = LogPosition::START;
    loop {
        let writers_done = done.load(Ordering::SeqCst);
        let batch = log
            .read_after(after, 500, &LogFilter::default())
            .await
            .expect("reading");
        after = batch.next;
        let empty = batch.events.is_empty();
        seen.extend(batch.events);
        if empty {
            if writers_done && !batch.held_back {
                return seen;
            }
            watcher.wait(batch.held_back).await;
        }
    }
}

/// The control: the naive reader that follows `position > last`.
async fn naive_reader(log: EventLog, done: Arc<AtomicBool>) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut last = 0_i64;
    loop {
        let writers_done = done.load(Ordering::SeqCst);
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT 500",
        )
        .bind(last)
        .fetch_all(log.pool())
        .await
        .expect("naive read");
        if let Some(max) = rows.last() {
            last = *max;
        } else if writers_done {
            return seen;
        } else {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        seen.extend(rows);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tailing_reader_sees_every_committed_event_once_in_order() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let appended = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let reader = tokio::spawn(gapless_reader(log.clone(), done.clone()));
    let control = tokio::spawn(naive_reader(log.clone(), done.clone()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|id| tokio::spawn(writer(id, log.clone(), ledger.clone(), appended.clone())))
        .collect();
    for w in writers {
        w.await.expect("writer panicked");
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.expect("reader panicked");
    let naive = control.await.expect("control reader panicked");
    let ledger = ledger.lock().expect("ledger lock");

    assert!(
        ledger.committed.len() >= TARGET_EVENTS,
        "writers committed {}",
        ledger.committed.len()
    );
    assert!(
        !ledger.rolled_back_tags.is_empty(),
        "the scenario must roll some transactions back"
    );

    // Exactly once: the positions seen are the positions committed, none twice.
    let seen_positions: Vec<i64> = seen.iter().map(|e| e.position).collect();
    let unique: HashSet<i64> = seen_positions.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen_positions.len(),
        "an event was delivered twice"
    );
    let committed: HashSet<i64> = ledger.committed.keys().copied().collect();
    let missing: Vec<_> = committed.difference(&unique).take(10).collect();
    let extra: Vec<_> = unique.difference(&committed).take(10).collect();
    assert!(
        missing.is_empty(),
        "committed events never delivered: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "delivered events that were never committed: {extra:?}"
    );

    // Never a rolled-back event.
    for e in &seen {
        let payload: serde_json::Value = e.decode_payload().expect("payload");
        let tag = payload["tag"].as_str().expect("tag");
        assert!(
            !ledger.rolled_back_tags.contains(tag),
            "rolled-back event {tag} was delivered"
        );
    }

    // Each aggregate's events arrive in sequence order, with no gap.
    let mut next_sequence: BTreeMap<&str, i64> = BTreeMap::new();
    for e in &seen {
        let expected = next_sequence.entry(e.aggregate_id.as_str()).or_insert(1);
        assert_eq!(
            e.sequence, *expected,
            "aggregate {} out of order at position {}",
            e.aggregate_id, e.position
        );
        *expected += 1;
    }

    // The control shows the scenario is hard enough: following `position > last` misses
    // events that commit after a later position. If this fails, the race test above proves
    // nothing, because it no longer produces out-of-order commits.
    let naive: HashSet<i64> = naive.into_iter().collect();
    let naive_missed = committed.difference(&naive).count();
    assert!(
        naive_missed > 0,
        "the naive reader missed nothing: the scenario lost its teeth"
    );
    eprintln!(
        "naive `position > last` reader missed {naive_missed} of {} events",
        committed.len()
    );
}

#[tokio::test]
async fn an_open_transaction_holds_readers_back_instead_of_being_skipped() {
    let db = TestDatabase::new().await;
    let log = db.log();

    // A transaction appends and stays open for 2 s.
    let (opened_tx, opened_rx) = tokio::sync::oneshot::channel();
    let slow_log = log.clone();
    let slow = tokio::spawn(async move {
        slow_log
            .append_then(&[event("slow", 1, "slow")], move |_tx, _| {
                Box::pin(async move {
                    let _ = opened_tx.send(());
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    Ok::<(), AppendError>(())
                })
            })
            .await
            .expect("slow append")
    });
    opened_rx.await.expect("slow transaction opened");

    // A later transaction commits at once, with a higher position.
    let fast = log
        .append(&[event("fast", 1, "fast")])
        .await
        .expect("fast append");
    let (slow_done, ()) = loop {
        let batch = log
            .read_after(LogPosition::START, 100, &LogFilter::default())
            .await
            .expect("read");
        if slow.is_finished() {
            break slow.await.expect("slow task");
        }
        assert!(
            batch.events.is_empty(),
            "read past an open transaction: {:?}",
            batch.events
        );
        assert!(
            batch.held_back,
            "the committed event waits behind the open transaction"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(slow_done.last_position() < fast.last_position());

    // Tests in other databases of this cluster may hold readers back briefly too.
    let events = event_store::testing::read_all(&log).await;
    let order: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(order, ["slow", "fast"], "both events, in commit-safe order");
}

/// How many sequential scans of `events` the server has counted, after the session of
/// `pool` (its only connection) reported its own.
async fn events_seq_scans(pool: &sqlx::PgPool) -> i64 {
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(pool)
        .await
        .expect("flush statistics");
    sqlx::query_scalar("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'events'")
        .fetch_one(pool)
        .await
        .expect("statistics")
}

#[tokio::test]
async fn a_read_at_the_head_does_not_scan_the_whole_log() {
    let db = TestDatabase::new().await;
    // One connection, so that the reads and the statistics are one session's.
    let pool = db.pool_of(1).await;
    let log = EventLog::new(pool.clone());
    let events: Vec<_> = (1..=2_000).map(|n| event("long", n, "e")).collect();
    log.append(&events).await.expect("append");
    // Read to the end, however long other tests' transactions in this cluster hold
    // readers back.
    let head = event_store::testing::read_all(&log)
        .await
        .last()
        .map(RecordedEvent::log_position)
        .expect("the events");
    let before = events_seq_scans(&pool).await;
    // Enough reads for the server to settle on the statement's generic plan.
    for _ in 0..12 {
        let batch = log
            .read_after(head, 100, &LogFilter::default())
            .await
            .expect("read");
        assert!(batch.events.is_empty());
    }
    let scans = events_seq_scans(&pool).await - before;
    assert_eq!(scans, 0, "reads at the head scanned the log {scans} times");
}

#[tokio::test]
async fn a_reader_that_passes_other_types_by_gets_every_event_in_place_without_their_payloads() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let other = |n: usize| SerializedEvent {
        aggregate_type: "OtherAggregate".to_owned(),
        ..event("other", n, "other")
    };
    log.append(&[
        event("race", 1, "a"),
        other(1),
        event("race", 2, "b"),
        other(2),
    ])
    .await
    .expect("append");
    // Once every transaction older than these events has ended (other tests' in this
    // cluster too), both reads see all of them.
    assert_eq!(event_store::testing::read_all(&log).await.len(), 4);
    let whole = log
        .read_after(LogPosition::START, 100, &LogFilter::default())
        .await
        .expect("read");
    let passing = log
        .read_after(
            LogPosition::START,
            100,
            &LogFilter {
                payloads_of: Some(&["RaceAggregate"]),
                ..LogFilter::default()
            },
        )
        .await
        .expect("read");
    let places = |batch: &event_store::LogBatch| -> Vec<LogPosition> {
        batch
            .events
            .iter()
            .map(RecordedEvent::log_position)
            .collect()
    };
    assert_eq!(places(&passing), places(&whole), "every event, in order");
    assert_eq!(passing.next, whole.next);
    for (read, stored) in passing.events.iter().zip(&whole.events) {
        if read.aggregate_type == "RaceAggregate" {
            assert_eq!(read.payload.get(), stored.payload.get());
            assert_eq!(read.metadata.get(), stored.metadata.get());
        } else {
            assert_eq!((read.payload.get(), read.metadata.get()), ("null", "null"));
            assert_eq!(read.event_type, stored.event_type);
        }
    }
}

#[tokio::test]
async fn the_last_event_in_log_order_is_where_a_reader_that_read_everything_stands() {
    let db = TestDatabase::new().await;
    let log = db.log();
    assert_eq!(log.last().await.expect("last"), LogPosition::START);
    log.append(&[event("a", 1, "a"), event("b", 1, "b")])
        .await
        .expect("append");
    log.append(&[event("a", 2, "c")]).await.expect("append");
    let everything = event_store::testing::read_all(&log).await;
    let end = everything.last().map(RecordedEvent::log_position);
    assert_eq!(Some(log.last().await.expect("last")), end);
}
