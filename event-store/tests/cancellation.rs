//! A task cancelled at any point of a transaction leaves no pooled connection inside a
//! transaction: otherwise the next user of that connection would run in it unknowingly,
//! holding its locks and snapshot until the connection closes.

use std::time::Duration;

use event_store::testing::TestDatabase;

/// Sessions of this database left idle inside a transaction.
async fn stray_transactions(db: &TestDatabase) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_cancelled_mid_flight_leave_no_pooled_connection_in_a_transaction() {
    let db = TestDatabase::new().await;
    let log = db.log();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..2_000 {
        // Cancelled after a random number of scheduler turns (finer than any timer):
        // before, during or after BEGIN.
        let turns = rng.u32(0..300);
        let cut = async {
            for _ in 0..turns {
                tokio::task::yield_now().await;
            }
        };
        tokio::select! {
            () = cut => {}
            () = async {
                let mut tx = log.begin().await.expect("begin");
                sqlx::query("SELECT 1").execute(&mut *tx).await.expect("select");
                tx.commit().await.expect("commit");
            } => {}
        }
        // Plain statements between, as a projector's reads are: they would run inside a
        // stray transaction and leave it open.
        sqlx::query("SELECT 1")
            .execute(log.pool())
            .await
            .expect("plain");
    }
    // Returned connections are rolled back on their way back to the pool; give the
    // returning tasks a moment, and use every pooled connection once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(log.pool().acquire().await.expect("acquire"));
    }
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stray_transactions(&db).await, 0);
}
