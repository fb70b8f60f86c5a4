//! `OMS-Min-Position`: answers wait for the projections, at most 5 s; every answer says
//! which position it reflects.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{codes, projectors, Platform};

const NAME: &str = "query($id: ID!) { customer(id: $id) { name } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_query_waits_until_the_write_it_names_is_projected() {
    let platform = Arc::new(Platform::without_projectors().await);
    let running = projectors(&platform.log);
    let ada = platform.customer("Ada", "ada@example.com").await;
    let first = platform.gql_at(ada.2, NAME, json!({"id": ada.0})).await;
    assert_eq!(first["data"]["customer"]["name"], "Ada");
    assert!(
        first["extensions"]["position"].as_i64() >= Some(ada.2),
        "{first}"
    );

    // With the projectors stopped a rename is acknowledged but not projected: a query
    // naming its position waits, and answers as soon as they run again.
    running.stop().await;
    let renamed = platform
        .command(
            &format!("/customers/{}/rename", ada.0),
            json!({"name": "Ada King"}),
        )
        .await["position"]
        .as_i64()
        .expect("position");
    let stale = platform.gql(NAME, json!({"id": ada.0})).await;
    assert_eq!(
        stale["data"]["customer"]["name"], "Ada",
        "nothing projects now"
    );
    assert!(
        stale["extensions"]["position"].as_i64() < Some(renamed),
        "{stale}"
    );
    let waiting = {
        let platform = platform.clone();
        let id = ada.0.clone();
        tokio::spawn(async move { platform.gql_at(renamed, NAME, json!({"id": id})).await })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "answered before the write was projected"
    );
    let running = projectors(&platform.log);
    let answer = waiting.await.expect("query");
    // Not a timeout: the new name, from read models that have passed the rename.
    assert_eq!(answer["data"]["customer"]["name"], "Ada King", "{answer}");
    assert!(
        answer["extensions"]["position"].as_i64() >= Some(renamed),
        "{answer}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn past_five_seconds_the_answer_is_consistency_timeout() {
    let platform = Arc::new(Platform::without_projectors().await);
    let ada = platform.customer("Ada", "ada@example.com").await;
    // Nothing projects: neither a committed position nor one that does not exist yet is reached.
    let started = Instant::now();
    let (committed, future) = tokio::join!(
        platform.gql_at(ada.2, NAME, json!({"id": ada.0})),
        platform.gql_at(1_000_000, NAME, json!({"id": ada.0})),
    );
    let waited = started.elapsed();
    for response in [&committed, &future] {
        assert_eq!(codes(response), ["CONSISTENCY_TIMEOUT"], "{response}");
        assert!(response.get("data").is_none(), "{response}");
        assert!(response["extensions"]["position"].is_i64(), "{response}");
    }
    // Five seconds, and not much more (a loaded machine adds some).
    assert!(
        waited >= Duration::from_millis(4900) && waited < Duration::from_secs(15),
        "{waited:?}"
    );
    for bad in ["-1", "x", "1.5", ""] {
        let response = platform
            .gql_with(
                NAME,
                json!({"id": ada.0}),
                &[("oms-min-position", bad.to_owned())],
            )
            .await;
        assert_eq!(codes(&response), ["BAD_USER_INPUT"], "{bad:?}: {response}");
    }
}
