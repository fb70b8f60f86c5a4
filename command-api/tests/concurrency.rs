//! Concurrent writers: optimistic conflicts are retried; uniqueness holds.

mod support;

use std::sync::Arc;

use serde_json::json;
use support::Api;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_restocks_all_succeed_and_add_up() {
    let api = Arc::new(Api::new().await);
    api.product("BOTTLE", "1.00", "EUR", 100).await;
    let tasks: Vec<_> = (1..=16)
        .map(|n| {
            let api = api.clone();
            tokio::spawn(async move {
                api.post("/products/BOTTLE/restock", json!({"quantity": n}))
                    .await
            })
        })
        .collect();
    let mut versions = Vec::new();
    for task in tasks {
        versions.push(
            task.await.expect("task").expect(200).body["version"]
                .as_i64()
                .expect("version"),
        );
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        (2..=17).collect::<Vec<_>>(),
        "each restock got its own version"
    );
    let restocked: u64 = api
        .payloads("BOTTLE")
        .await
        .iter()
        .filter_map(|p| p["ProductRestocked"]["quantity"].as_u64())
        .sum();
    assert_eq!(restocked, (1..=16).sum::<u64>(), "on_hand = 100 + 136");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_restocks_of_one_product_take_turns_and_all_succeed() {
    // Far more racers than a command's attempts: racing, most would run out of them.
    let api = Arc::new(Api::new().await);
    api.product("BOTTLE", "1.00", "EUR", 100).await;
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let api = api.clone();
            tokio::spawn(async move {
                api.post("/products/BOTTLE/restock", json!({"quantity": 1}))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect(200);
    }
    let restocks = api.count_of("BOTTLE", "ProductRestocked").await;
    assert_eq!(restocks, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_registrations_with_one_email_give_one_customer() {
    let api = Arc::new(Api::new().await);
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let api = api.clone();
            // The same email in different letter case.
            let email = if n % 2 == 0 {
                "Ada@Example.com"
            } else {
                "ada@EXAMPLE.com"
            };
            tokio::spawn(async move {
                api.post(
                    "/customers",
                    json!({"name": format!("Ada {n}"), "email": email}),
                )
                .await
            })
        })
        .collect();
    let (mut created, mut taken) = (0, 0);
    for task in tasks {
        let reply = task.await.expect("task");
        match reply.status.as_u16() {
            201 => created += 1,
            409 => {
                assert_eq!(reply.slug(), "email-taken");
                taken += 1;
            }
            other => panic!("unexpected {other}: {:?}", reply.body),
        }
    }
    assert_eq!((created, taken), (1, 19));
    let registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'CustomerRegistered'")
            .fetch_one(&api.db.pool)
            .await
            .expect("count");
    assert_eq!(registered, 1);
}

#[tokio::test]
async fn writers_that_keep_colliding_get_409_after_bounded_retries() {
    let api = Api::new().await;
    api.product("HOT", "1.00", "EUR", 1).await;
    // Every append to HOT now fails exactly like losing the optimistic-lock race.
    sqlx::query(
        "CREATE FUNCTION always_conflict() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.aggregate_id = 'HOT' THEN
             RAISE unique_violation USING CONSTRAINT = 'events_pkey', MESSAGE = 'simulated race';
           END IF;
           RETURN NEW;
         END $$",
    )
    .execute(&api.db.pool)
    .await
    .expect("function");
    sqlx::query("CREATE TRIGGER always_conflict BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION always_conflict()")
        .execute(&api.db.pool)
        .await
        .expect("trigger");
    let started = std::time::Instant::now();
    api.post("/products/HOT/restock", json!({"quantity": 1}))
        .await
        .expect_problem(409, "concurrency-conflict");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "bounded: {:?}",
        started.elapsed()
    );
    // Other aggregates are unaffected.
    api.product("COLD", "1.00", "EUR", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_definitions_of_one_sku_give_one_product() {
    let api = Arc::new(Api::new().await);
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let api = api.clone();
            let body = json!({"sku": "RACE", "name": format!("Racer {n}"), "price": {"amount": "1.00", "currency": "EUR"}, "stock": n});
            tokio::spawn(async move { api.post("/products", body).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let reply = task.await.expect("task");
        if reply.status.as_u16() == 409 {
            assert_eq!(reply.slug(), "sku-taken");
        }
        statuses.push(reply.status.as_u16());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(api.payloads("RACE").await.len(), 1);
}
