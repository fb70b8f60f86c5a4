//! A test that hangs while holding its database fails the test binary within its limit.

use std::process::Command;
use std::time::{Duration, Instant};

use event_store::testing::TestDatabase;

/// Run only by the test below, in a child process with a short limit.
#[tokio::test]
#[ignore = "hangs on purpose; run by watchdog_fails_a_hanging_test"]
async fn hangs_while_holding_a_database() {
    let _db = TestDatabase::new().await;
    std::future::pending::<()>().await;
}

#[test]
fn watchdog_fails_a_hanging_test() {
    let started = Instant::now();
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "hangs_while_holding_a_database"])
        .env("OMS_TEST_LIMIT_SECS", "3")
        .output()
        .expect("running the hanging test");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(101), "{stderr}");
    assert!(stderr.contains("it hangs"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
}
