//! Keyset pages, filters, and the indexes behind them.

mod support;

use std::collections::BTreeSet;

use domain::order::OrderStatus;
use query_graphql::cursor::TimeCursor;
use query_graphql::read_models::pages::{orders_query, OrdersFilter};
use serde_json::{json, Value};
use support::Platform;

const PAGE: &str = "query($first: Int, $after: String, $filter: OrderFilter) {
    orders(first: $first, after: $after, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id placedAt customer { id } status } }
    } }";

fn ids(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_continue_exactly_after_their_cursor_while_orders_arrive() {
    let platform = Platform::start().await;
    platform.product("A", "Apple", "1.00", 1000).await;
    let ada = platform.customer("Ada", "ada@example.com").await;
    let bob = platform.customer("Bob", "bob@example.com").await;
    let mut placed = Vec::new();
    let mut last = 0;
    for i in 0..25 {
        let who = if i % 5 == 0 { &bob } else { &ada };
        let (id, position) = platform.order(who, &[("A", 1)]).await;
        placed.push(id);
        last = position;
    }
    let first = platform.gql_at(last, PAGE, json!({"first": 10})).await;
    let first = &first["data"]["orders"];
    assert_eq!(first["totalCount"], 25);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let newest_first: Vec<String> = placed.iter().rev().cloned().collect();
    assert_eq!(ids(first), newest_first[..10]);
    assert_eq!(first["pageInfo"]["endCursor"], first["edges"][9]["cursor"]);

    // New orders arrive between pages: they sort before page one, never into later pages.
    for _ in 0..3 {
        last = platform.order(&ada, &[("A", 1)]).await.1;
    }
    let second = platform
        .gql_at(
            last,
            PAGE,
            json!({"first": 10, "after": first["pageInfo"]["endCursor"]}),
        )
        .await;
    let second = &second["data"]["orders"];
    assert_eq!(second["totalCount"], 28);
    assert_eq!(ids(second), newest_first[10..20]);
    let third = platform
        .gql(
            PAGE,
            json!({"first": 10, "after": second["pageInfo"]["endCursor"]}),
        )
        .await;
    let third = &third["data"]["orders"];
    assert_eq!(ids(third), newest_first[20..]);
    assert_eq!(third["pageInfo"]["hasNextPage"], false);
    let seen: BTreeSet<String> = [ids(first), ids(second), ids(third)]
        .concat()
        .into_iter()
        .collect();
    assert_eq!(seen.len(), 25, "no order twice, none skipped");

    // The default page is 20.
    let default = platform.gql(PAGE, json!({})).await;
    assert_eq!(ids(&default["data"]["orders"]).len(), 20);

    // Filters: customer, status, placed after/before, and together.
    let bobs = platform
        .gql(PAGE, json!({"first": 100, "filter": {"customerId": bob.0}}))
        .await;
    let bobs = &bobs["data"]["orders"];
    assert_eq!(bobs["totalCount"], 5);
    assert!(bobs["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .all(|e| e["node"]["customer"]["id"] == bob.0.as_str()));
    let cancelled_ids = [&placed[0], &placed[3], &placed[5]];
    for id in cancelled_ids {
        last = platform
            .command(
                &format!("/orders/{id}/cancel"),
                json!({"reason": "changed my mind"}),
            )
            .await["position"]
            .as_i64()
            .expect("position");
    }
    let cancelled = platform
        .gql_at(last, PAGE, json!({"filter": {"status": "CANCELLED"}}))
        .await;
    let cancelled = &cancelled["data"]["orders"];
    assert_eq!(cancelled["totalCount"], 3);
    assert_eq!(
        ids(cancelled),
        [placed[5].clone(), placed[3].clone(), placed[0].clone()]
    );
    let bob_cancelled = platform
        .gql(
            PAGE,
            json!({"filter": {"status": "CANCELLED", "customerId": bob.0}}),
        )
        .await;
    assert_eq!(
        ids(&bob_cancelled["data"]["orders"]),
        [placed[5].clone(), placed[0].clone()]
    );

    let all = platform.gql(PAGE, json!({"first": 100})).await;
    let edges = all["data"]["orders"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let at = |i: usize| edges[i]["node"]["placedAt"].clone();
    let window = platform
        .gql(
            PAGE,
            json!({"first": 100, "filter": {"placedAfter": at(10), "placedBefore": at(3)}}),
        )
        .await;
    let window = &window["data"]["orders"];
    assert_eq!(window["totalCount"], 6, "strictly between: positions 4..=9");
    let expected: Vec<String> = edges[4..10]
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids(window), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_filter_combination_is_served_by_an_index_in_sort_order() {
    let platform = Platform::without_projectors().await;
    let mut conn = platform.db.pool.acquire().await.expect("connection");
    // The table is empty, so any plan is cheap: forbid the alternatives to an ordered index
    // scan, and see that one exists for every combination (a Sort would remain otherwise).
    for setting in ["enable_seqscan", "enable_bitmapscan", "enable_sort"] {
        sqlx::query(&format!("SET {setting} = off"))
            .execute(&mut *conn)
            .await
            .expect("set");
    }
    let now = chrono::Utc::now();
    let cursor = TimeCursor {
        at: now,
        id: uuid::Uuid::new_v4(),
    };
    for status in [None, Some(OrderStatus::Confirmed)] {
        for customer in [None, Some(uuid::Uuid::new_v4())] {
            for placed_after in [None, Some(now - chrono::Duration::days(7))] {
                for placed_before in [None, Some(now)] {
                    for after in [None, Some(cursor)] {
                        let filter = OrdersFilter {
                            status,
                            customer,
                            placed_after,
                            placed_before,
                        };
                        let plan: Vec<String> = orders_query("EXPLAIN SELECT", &filter, 20, after)
                            .build_query_scalar()
                            .fetch_all(&mut *conn)
                            .await
                            .expect("explain");
                        let plan = plan.join("\n");
                        assert!(
                            plan.contains("Index Scan")
                                && !plan.contains("Sort")
                                && !plan.contains("Seq Scan"),
                            "{filter:?} after {after:?}:\n{plan}"
                        );
                    }
                }
            }
        }
    }
}
