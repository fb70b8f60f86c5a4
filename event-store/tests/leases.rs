//! Leased connections: kept between statements, never more than asked for, and given
//! back to the pool whenever their state is in doubt.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use event_store::testing::TestDatabase;
use event_store::{Leases, CHECK_IDLE_AFTER};

async fn backend(leases: &Leases) -> Result<i32, sqlx::Error> {
    let mut lease = leases.lease().await?;
    let pid = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *lease)
        .await;
    lease.finished(pid)
}

#[tokio::test]
async fn statements_share_kept_connections_and_at_most_max_are_leased() {
    let db = TestDatabase::new().await;
    let leases = Leases::new(db.log().pool().clone(), 2);
    let first = backend(&leases).await.expect("statement");
    for _ in 0..20 {
        assert_eq!(backend(&leases).await.expect("statement"), first);
    }

    let leased = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (leases, leased, most) = (leases.clone(), leased.clone(), most.clone());
            tokio::spawn(async move {
                let mut lease = leases.lease().await.expect("lease");
                most.fetch_max(leased.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                let pid =
                    sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid() FROM pg_sleep(0.05)")
                        .fetch_one(&mut *lease)
                        .await;
                leased.fetch_sub(1, Ordering::SeqCst);
                lease.finished(pid).expect("statement")
            })
        })
        .collect();
    let mut backends = HashSet::new();
    for task in tasks {
        backends.insert(task.await.expect("task"));
    }
    assert_eq!(most.load(Ordering::SeqCst), 2);
    assert!(backends.len() <= 2, "{backends:?}");
}

#[tokio::test]
async fn a_refused_statement_keeps_its_connection_and_an_abandoned_one_gives_it_back() {
    let db = TestDatabase::new().await;
    let leases = Leases::new(db.log().pool().clone(), 1);
    let kept = backend(&leases).await.expect("statement");

    let mut lease = leases.lease().await.expect("lease");
    let refused = sqlx::query_scalar::<_, i32>("SELECT 1 / 0")
        .fetch_one(&mut *lease)
        .await;
    assert!(lease.finished(refused).is_err());
    assert_eq!(backend(&leases).await.expect("statement"), kept);

    // Abandoned mid-statement: that session is busy for seconds more, and the next
    // statement runs on another connection, at once.
    let abandoned = tokio::time::timeout(Duration::from_millis(200), async {
        let mut lease = leases.lease().await.expect("lease");
        let slept = sqlx::query("SELECT pg_sleep(5)").execute(&mut *lease).await;
        lease.finished(slept).map(drop)
    })
    .await;
    assert!(abandoned.is_err(), "the statement should still be running");
    let next = tokio::time::timeout(Duration::from_secs(2), backend(&leases))
        .await
        .expect("the next statement does not wait for the abandoned one")
        .expect("statement");
    assert_ne!(next, kept);
}

#[tokio::test]
async fn a_kept_connection_broken_while_idle_is_replaced_before_use() {
    let db = TestDatabase::new().await;
    let leases = Leases::new(db.log().pool().clone(), 1);
    let kept = backend(&leases).await.expect("statement");
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(kept)
        .fetch_one(db.log().pool())
        .await
        .expect("terminate");
    assert!(terminated);
    tokio::time::sleep(CHECK_IDLE_AFTER + Duration::from_millis(200)).await;
    let next = backend(&leases).await.expect("a fresh connection");
    assert_ne!(next, kept);
}

#[tokio::test]
async fn with_max_zero_nothing_is_kept() {
    let db = TestDatabase::new().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(db.options.clone())
        .await
        .expect("pool");
    let leases = Leases::new(pool.clone(), 0);
    backend(&leases).await.expect("statement");
    // The pool's one connection is back in the pool, not kept by the leases.
    let mut connection = pool.acquire().await.expect("the pool's connection");
    sqlx::query("SELECT 1")
        .execute(&mut *connection)
        .await
        .expect("statement");
}

#[tokio::test]
async fn closing_the_pool_does_not_wait_for_ever_on_kept_connections() {
    let db = TestDatabase::new().await;
    let pool = db.pool_of(4).await;
    let leases = Leases::new(pool.clone(), 2);
    backend(&leases).await.expect("statement");
    tokio::time::timeout(CHECK_IDLE_AFTER * 5, pool.close())
        .await
        .expect("the kept connection is given back and the pool closes");
}

#[tokio::test]
async fn a_session_found_gone_sends_every_kept_connection_to_be_checked() {
    let db = TestDatabase::new().await;
    let leases = Leases::new(db.log().pool().clone(), 3);
    let held: Vec<_> = futures_util::future::join_all((0..3).map(|_| leases.lease()))
        .await
        .into_iter()
        .map(|lease| lease.expect("lease"))
        .collect();
    let mut kept = Vec::new();
    for mut lease in held {
        let pid = sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
            .fetch_one(&mut *lease)
            .await;
        kept.push(lease.finished(pid).expect("statement"));
    }
    // Every kept session ends (a restart would end them all), unbeknown to the leases.
    for pid in &kept {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(db.log().pool())
            .await
            .expect("terminate");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(backend(&leases).await.is_err(), "a kept session was gone");
    let next = backend(&leases).await.expect("a checked connection");
    assert!(!kept.contains(&next));
}
