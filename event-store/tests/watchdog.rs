//! A test that hangs while holding its database fails the test binary within its limit.

use std::process::Command;
use std::time::{Duration, Instant};

use event_store::testing::TestDatabase;

/// Set in the child this test runs: there, the test takes a database and hangs.
const CHILD: &str = "OMS_WATCHDOG_CHILD";

#[tokio::test]
async fn watchdog_fails_a_hanging_test() {
    if std::env::var_os(CHILD).is_some() {
        let _db = TestDatabase::new().await;
        std::future::pending::<()>().await;
    }
    let started = Instant::now();
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "watchdog_fails_a_hanging_test"])
        .env(CHILD, "1")
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
