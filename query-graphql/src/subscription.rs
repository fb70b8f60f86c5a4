//! `Subscription`: orders as they change.

use std::collections::VecDeque;
use std::sync::Arc;

use std::time::SystemTime;

use async_graphql::{Context, Subscription, ID};
use auth::Caller;
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Notify;

use crate::hub::Hub;
use crate::query::reader;
use crate::scalars::uuid;
use crate::views::order::{Order, OrderSet};

/// Asks a WebSocket connection to close because one of its subscriptions fell too far
/// behind (see [`crate::http`]).
#[derive(Debug, Clone, Default)]
pub struct TooSlow(pub Arc<Notify>);

#[derive(Debug, Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The order's new view after every committed change to it (every order's, when `id`
    /// is omitted), of the orders the caller may read. Ends when the caller's token expires.
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = Order>> {
        let only = id.as_ref().map(|id| uuid(id, "id")).transpose()?;
        let reader = reader(ctx);
        reader.any_role("orders")?;
        let scope = reader.scope();
        if let Some(id) = only {
            // Another customer's order is FORBIDDEN here; an order not there yet is not.
            reader.order(id).await?;
        }
        let expires_at = ctx
            .data_opt::<Caller>()
            .and_then(|caller| caller.expires_at);
        let updates = ctx.data_unchecked::<Hub>().orders();
        let too_slow = ctx.data_opt::<TooSlow>().cloned();
        let pending: VecDeque<Order> = VecDeque::new();
        // Counted open until the stream is dropped (completed, or the client went away).
        let subscribed = crate::metrics::Subscribed::start();
        let updates = stream::unfold(
            (updates, pending, subscribed),
            move |(mut updates, mut pending, subscribed)| {
                let too_slow = too_slow.clone();
                async move {
                    loop {
                        if let Some(order) = pending.pop_front() {
                            return Some((order, (updates, pending, subscribed)));
                        }
                        match updates.recv().await {
                            // One set per batch: their nested fields load together.
                            Ok(changed) => pending.extend(OrderSet::orders(
                                changed
                                    .orders
                                    .iter()
                                    .filter(|o| {
                                        only.is_none_or(|id| o.id == id)
                                            && scope.reaches(o.customer_id)
                                    })
                                    .cloned()
                                    .collect(),
                            )),
                            Err(RecvError::Lagged(missed)) => {
                                tracing::info!(missed, "closing a subscriber that fell behind");
                                if let Some(TooSlow(notify)) = too_slow {
                                    notify.notify_one();
                                }
                                return None;
                            }
                            Err(RecvError::Closed) => return None,
                        }
                    }
                }
            },
        );
        Ok(updates.take_until(expiry(expires_at)))
    }
}

/// Completes when a token expiring at `at` has expired (never, for no expiry).
pub async fn expiry(at: Option<SystemTime>) {
    match at {
        Some(at) => {
            let left = at.duration_since(SystemTime::now()).unwrap_or_default();
            tokio::time::sleep(left).await;
        }
        None => std::future::pending().await,
    }
}
