//! No N+1: the SQL statements a query costs do not grow with its page size, and a query
//! refused by the limits costs none. Statements are counted as sqlx reports them (every
//! statement it runs emits a `sqlx::query` event), so nothing can slip past the count.
//!
//! One test in this binary: the counter is process-wide.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use support::{codes, Platform};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

#[derive(Default)]
struct Statements {
    recording: AtomicBool,
    seen: Mutex<Vec<String>>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Statements>);

/// The statement of a `sqlx::query` event: `db.statement`, or for a short one (which sqlx
/// leaves out there) `summary`.
#[derive(Default)]
struct Sql {
    statement: String,
    summary: String,
}

impl Visit for Sql {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "db.statement" => value.clone_into(&mut self.statement),
            "summary" => value.clone_into(&mut self.summary),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" || !self.0.recording.load(Ordering::SeqCst) {
            return;
        }
        let mut sql = Sql::default();
        event.record(&mut sql);
        let sql = if sql.statement.trim().is_empty() {
            sql.summary
        } else {
            sql.statement
        };
        // Background work, not the query's: the process's GraphQL listener keeps its
        // checkpoints fresh, and listeners say LISTEN and UNLISTEN.
        let background =
            sql.contains("projection_checkpoints") || sql.to_ascii_uppercase().contains("LISTEN");
        if !background {
            self.0.seen.lock().expect("lock").push(sql);
        }
    }
}

impl Recorder {
    /// The statements `query` costs.
    async fn count(&self, platform: &Platform, query: &str) -> (Vec<String>, serde_json::Value) {
        self.0.seen.lock().expect("lock").clear();
        self.0.recording.store(true, Ordering::SeqCst);
        let response = platform.gql(query, json!({})).await;
        self.0.recording.store(false, Ordering::SeqCst);
        (
            std::mem::take(&mut *self.0.seen.lock().expect("lock")),
            response,
        )
    }
}

fn orders_page(first: usize) -> String {
    format!(
        "{{ orders(first: {first}) {{ totalCount edges {{ node {{ id status
            customer {{ id name email }}
            shipment {{ id status carrier order {{ id itemCount }} }}
            lines {{ sku productName quantity unitPrice {{ amount }} }}
            history {{ status at }} }} }} }} }}"
    )
}

fn customers_page(first: usize) -> String {
    format!(
        "{{ customers(first: {first}) {{ edges {{ node {{ name
            addresses {{ city }}
            orders(first: 5) {{ totalCount edges {{ node {{ id lines {{ sku }} shipment {{ status }} }} }} }} }} }} }} }}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statements_per_query_do_not_grow_with_the_page() {
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(recorder.clone()))
        .expect("the only subscriber");
    let mut platform = Platform::start().await;
    platform.product("A", "Apple", "1.00", 1000).await;
    platform.product("B", "Banana", "2.00", 1000).await;
    let mut customers = Vec::new();
    for n in 0..12 {
        customers.push(
            platform
                .customer(&format!("C{n}"), &format!("c{n}@example.com"))
                .await,
        );
    }
    let mut orders = Vec::new();
    for n in 0..60 {
        orders.push(
            platform
                .order(&customers[n % 12], &[("A", 1), ("B", 2)])
                .await
                .0,
        );
    }
    // Pay every other order (every even customer's) so the manager creates shipments.
    for order in orders.iter().step_by(2) {
        platform.until_status(order, "CONFIRMED").await;
        platform
            .command(
                &format!("/orders/{order}/pay"),
                json!({"amount": {"amount": "5.00", "currency": "EUR"}, "method": "card", "reference": "r"}),
            )
            .await;
    }
    for order in orders.iter().step_by(2) {
        loop {
            let response = platform
                .gql(
                    "query($id: ID!) { order(id: $id) { shipment { id } } }",
                    json!({"id": order}),
                )
                .await;
            if response["data"]["order"]["shipment"]["id"].is_string() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
    platform.stop_projectors().await;
    // The stopped workers' listeners say UNLISTEN as they go; let them.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let (small, response) = recorder.count(&platform, &orders_page(5)).await;
    assert!(response.get("errors").is_none(), "{response}");
    let (large, response) = recorder.count(&platform, &orders_page(50)).await;
    assert!(response.get("errors").is_none(), "{response}");
    let edges = response["data"]["orders"]["edges"]
        .as_array()
        .expect("edges");
    assert_eq!(edges.len(), 50);
    assert!(
        edges
            .iter()
            .filter(|e| e["node"]["shipment"]["id"].is_string())
            .count()
            >= 10
    );
    // The page, its count, lines, history, shipments, and the shipments' orders.
    assert!(large.len() <= 6, "{} statements: {large:#?}", large.len());
    assert_eq!(small.len(), large.len(), "{small:#?}\n{large:#?}");

    let (small, response) = recorder.count(&platform, &customers_page(2)).await;
    assert!(response.get("errors").is_none(), "{response}");
    let (large, response) = recorder.count(&platform, &customers_page(12)).await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(
        response["data"]["customers"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(12)
    );
    assert!(large.len() <= 6, "{} statements: {large:#?}", large.len());
    assert_eq!(small.len(), large.len(), "{small:#?}\n{large:#?}");

    let (none, response) = recorder
        .count(&platform, "{ customers(first: 100) { edges { node { orders(first: 100) { edges { node { id } } } } } } }")
        .await;
    assert_eq!(codes(&response), ["QUERY_TOO_COMPLEX"]);
    assert!(
        none.is_empty(),
        "refused before any database work: {none:#?}"
    );

    // Cheap by complexity, costly in statements: aliases of a root field, and counts.
    let aliases: String = (0..2_000)
        .map(|n| format!("a{n}: orders {{ totalCount }} "))
        .collect();
    let roots: String = (0..17)
        .map(|n| format!("p{n}: product(sku: \"S{n}\") {{ sku }} "))
        .collect();
    let counts: String = (0..5)
        .map(|n| format!("c{n}: orders(filter: {{status: PAID}}) {{ totalCount }} "))
        .collect();
    for query in [
        format!("{{ {aliases} }}"),
        format!("{{ {roots} }}"),
        format!("{{ {counts} }}"),
        format!("query {{ ...many }} fragment many on Query {{ {roots} }}"),
    ] {
        let (none, response) = recorder.count(&platform, &query).await;
        assert_eq!(codes(&response), ["QUERY_TOO_COMPLEX"], "{response}");
        assert!(
            none.is_empty(),
            "refused before any database work: {none:#?}"
        );
    }
    let within: String = (0..4)
        .map(|n| format!("c{n}: orders(filter: {{status: PAID}}) {{ totalCount }} "))
        .collect();
    let (_, response) = recorder.count(&platform, &format!("{{ {within} }}")).await;
    assert!(response.get("errors").is_none(), "{response}");

    // Requests waiting for a position not written yet: the hub looks it up for all of them
    // at once as commits are announced, not each of them at every announcement.
    platform.start_projectors();
    let ahead = platform.log.head_position().await.expect("head") + 3;
    recorder.0.seen.lock().expect("lock").clear();
    recorder.0.recording.store(true, Ordering::SeqCst);
    let waiters = futures_util::future::join_all(
        (0..20).map(|_| platform.gql_at(ahead, "{ products(first: 1) { totalCount } }", json!({}))),
    );
    let writes = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        for n in 0..3 {
            platform
                .command(
                    "/customers",
                    json!({"name": "Waiter", "email": format!("waiter{n}@example.com")}),
                )
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    let (answers, ()) = tokio::join!(waiters, writes);
    recorder.0.recording.store(false, Ordering::SeqCst);
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    let lookups = recorder
        .0
        .seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|sql| sql.contains("FROM events WHERE position"))
        .count();
    assert!(
        lookups <= 20 + 25,
        "{lookups} position lookups for 20 waiters"
    );
}
