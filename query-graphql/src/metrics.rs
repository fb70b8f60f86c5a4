//! GraphQL requests by operation type and outcome, and the subscriptions open.

use metrics::{counter, describe_counter, describe_gauge, gauge};

/// GraphQL requests answered, by operation (`query`, `mutation`, `subscription`) and
/// outcome (`ok`, `error`: answered with errors, `refused`: not executed).
pub const REQUESTS: &str = "oms_graphql_requests_total";
/// Subscriptions delivering now.
pub const SUBSCRIPTIONS: &str = "oms_graphql_subscriptions_active";

/// Describes this crate's metrics to the installed recorder.
pub fn describe() {
    describe_counter!(
        REQUESTS,
        "GraphQL operations, by operation type and outcome (ok, error: answered with errors, refused: not executed)."
    );
    describe_gauge!(SUBSCRIPTIONS, "GraphQL subscriptions open now.");
}

pub(crate) fn request(operation: &'static str, outcome: &'static str) {
    counter!(REQUESTS, "operation" => operation, "outcome" => outcome).increment(1);
}

/// Counts as an open subscription while it lives.
#[derive(Debug)]
pub(crate) struct Subscribed(());

impl Subscribed {
    pub(crate) fn start() -> Self {
        request("subscription", "ok");
        gauge!(SUBSCRIPTIONS).increment(1.0);
        Self(())
    }
}

impl Drop for Subscribed {
    fn drop(&mut self) {
        gauge!(SUBSCRIPTIONS).decrement(1.0);
    }
}
