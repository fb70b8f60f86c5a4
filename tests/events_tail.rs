//! `oms events tail` and `oms migrate` against a database given by DATABASE_URL.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use cqrs_es::persist::SerializedEvent;
use event_store::testing::TestDatabase;
use serde_json::{json, Value};
use support::{data_dir, oms};

fn event(aggregate_id: &str, sequence: usize, event_type: &str) -> SerializedEvent {
    SerializedEvent {
        aggregate_id: aggregate_id.to_owned(),
        sequence,
        aggregate_type: "Thing".to_owned(),
        event_type: event_type.to_owned(),
        event_version: "1".to_owned(),
        payload: json!({ "n": sequence }),
        metadata: json!({ "correlation_id": "corr-1" }),
    }
}

fn tail(db: &TestDatabase, args: &[&str]) -> (bool, Vec<Value>, String) {
    let dir = data_dir();
    let output = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["events", "tail"])
        .args(args)
        .output()
        .expect("running oms events tail");
    let lines = String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    (
        output.status.success(),
        lines,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_then_tail_prints_the_log_in_order() {
    let db = TestDatabase::empty().await;
    let dir = data_dir();
    let migrate = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .arg("migrate")
        .output()
        .expect("oms migrate");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );

    let log = db.log();
    let first = log
        .append(&[event("a", 1, "ThingMade"), event("a", 2, "ThingChanged")])
        .await
        .expect("append");
    let second = log
        .append(&[event("b", 1, "ThingMade")])
        .await
        .expect("append");

    let (ok, lines, stderr) = tail(&db, &["--from", "0"]);
    assert!(ok, "{stderr}");
    assert_eq!(lines.len(), 3);
    let line = &lines[0];
    let mut keys: Vec<&str> = line
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "aggregate_id",
            "aggregate_type",
            "event_type",
            "event_version",
            "metadata",
            "payload",
            "position",
            "recorded_at",
            "sequence"
        ]
    );
    assert_eq!(line["position"], json!(first.positions[0]));
    assert_eq!(line["aggregate_type"], "Thing");
    assert_eq!(line["aggregate_id"], "a");
    assert_eq!(line["sequence"], 1);
    assert_eq!(line["event_type"], "ThingMade");
    assert_eq!(line["event_version"], "1");
    assert_eq!(line["payload"], json!({ "n": 1 }));
    assert_eq!(line["metadata"]["correlation_id"], "corr-1");
    assert_eq!(
        line["metadata"]["recorded_at"], line["recorded_at"],
        "the column and the metadata agree"
    );
    let positions: Vec<i64> = lines
        .iter()
        .map(|l| l["position"].as_i64().expect("position"))
        .collect();
    assert_eq!(
        positions,
        [first.positions[0], first.positions[1], second.positions[0]]
    );

    // --from POSITION starts after that event; --type filters.
    let (ok, lines, _) = tail(&db, &["--from", &first.positions[0].to_string()]);
    assert!(ok);
    assert_eq!(
        lines
            .iter()
            .map(|l| l["position"].as_i64().expect("position"))
            .collect::<Vec<_>>(),
        positions[1..]
    );
    let (ok, lines, _) = tail(&db, &["--type", "ThingMade"]);
    assert!(ok);
    assert_eq!(
        lines
            .iter()
            .map(|l| l["aggregate_id"].as_str().expect("id"))
            .collect::<Vec<_>>(),
        ["a", "b"]
    );

    // An unknown position is a clear error, not an empty success.
    let (ok, lines, stderr) = tail(&db, &["--from", "999999"]);
    assert!(!ok && lines.is_empty());
    assert!(stderr.contains("no event at position 999999"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_follow_prints_events_as_they_commit() {
    let db = TestDatabase::new().await;
    let log = db.log();
    log.append(&[event("a", 1, "ThingMade")])
        .await
        .expect("append");

    let dir = data_dir();
    let mut child = oms(dir.path())
        .env("DATABASE_URL", &db.url)
        .args(["events", "tail", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning oms events tail --follow");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = || -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a line from tail --follow");
        serde_json::from_str(&line).expect("JSON line")
    };
    assert_eq!(next()["aggregate_id"], "a");

    for (id, seq) in [("b", 1), ("a", 2), ("c", 1)] {
        log.append(&[event(id, seq, "ThingMade")])
            .await
            .expect("append");
        let line = next();
        assert_eq!(
            (line["aggregate_id"].as_str(), line["sequence"].as_u64()),
            (Some(id), Some(seq as u64))
        );
    }
    child.kill().expect("stopping tail");
    let _ = child.wait();
}
