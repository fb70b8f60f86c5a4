//! `oms projections status` against a database given by DATABASE_URL.

mod support;

use event_store::testing::TestDatabase;
use support::{data_dir, oms};

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_every_projection_as_json_and_as_a_table() {
    let db = TestDatabase::new().await;
    let dir = data_dir();
    let output = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["projections", "status", "--json"])
        .output()
        .expect("oms");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let rows = rows.as_array().expect("array");
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, projections::names());
    for row in rows {
        assert_eq!(
            (
                row["position"].as_i64(),
                row["lag"].as_i64(),
                row["state"].as_str()
            ),
            (Some(0), Some(0), Some("STOPPED"))
        );
        assert!(row["head_position"].is_i64() && row["last_error"].is_null());
    }

    let output = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["projections", "status"])
        .output()
        .expect("oms");
    let table = String::from_utf8(output.stdout).expect("utf-8");
    assert!(table.starts_with("NAME"), "{table}");
    assert_eq!(table.lines().count(), 1 + names.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn rebuild_all_runs_and_an_unknown_name_is_refused() {
    let db = TestDatabase::new().await;
    let dir = data_dir();
    let output = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["projections", "rebuild", "--all"])
        .output()
        .expect("oms");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in projections::read_models().iter().map(|p| p.name()) {
        assert!(
            stderr.contains(&format!("rebuild {name}: done")),
            "{stderr}"
        );
    }
    let output = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["projections", "rebuild", "nope"])
        .output()
        .expect("oms");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no projection named \"nope\""));
    let output = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["projections", "rebuild"])
        .output()
        .expect("oms");
    assert!(!output.status.success(), "a name or --all is required");
}
