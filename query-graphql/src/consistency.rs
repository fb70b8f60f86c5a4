//! Read-your-writes and `extensions.position` (applied by [`crate::extension`]).
//!
//! A request with `OMS-Min-Position: N` is executed only once every read model has
//! applied the event at position N: the hub is woken by the projections' commit
//! notifications, there is no polling loop, and a position not committed yet is looked
//! up by the hub for all its waiters at once. Past [`MAX_WAIT`] the request fails with
//! `CONSISTENCY_TIMEOUT`. Every response then says, in `extensions.position`, the log
//! position every read model had reached when it was executed: the answer reflects at
//! least the events up to there.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::ServerError;
use event_store::{EventLog, LogPosition};
use tokio::time::Instant;

use crate::errors::{server_error, CONSISTENCY_TIMEOUT};
use crate::hub::Hub;

/// The longest a request waits for its `OMS-Min-Position`.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// Set when a request's execution starts (after validation and read-your-writes): a
/// response without it answers a request error, which has no `data`.
#[derive(Debug, Clone, Default)]
pub struct Executed(pub Arc<AtomicBool>);

/// The `OMS-Min-Position` of a request, in its data.
#[derive(Debug, Clone, Copy)]
pub struct MinPosition(pub i64);

/// Waits until every read model has applied the event at `min`.
pub async fn wait_for(
    hub: &Hub,
    log: &EventLog,
    min: i64,
    deadline: Instant,
) -> Result<(), ServerError> {
    let timeout = || {
        server_error(
            CONSISTENCY_TIMEOUT,
            format!(
                "the read models did not reach position {min} within {} s",
                MAX_WAIT.as_secs()
            ),
        )
    };
    let mut checkpoints = hub.checkpoints();
    // The event's place in the log order: committed already (the usual case, a position a
    // command answered), or looked up by the hub, for every such request at once, as
    // commits are announced.
    // Asked of the hub first, so that a commit between the two cannot be missed.
    let located = hub.locate(min);
    let target: LogPosition = match log.position_of(min).await {
        Ok(Some(target)) => target,
        Ok(None) => match tokio::time::timeout_at(deadline, located).await {
            Ok(Ok(target)) => target,
            Ok(Err(_)) | Err(_) => return Err(timeout()),
        },
        Err(error) => return Err(crate::errors::database_server_error(&error)),
    };
    let reached =
        tokio::time::timeout_at(deadline, checkpoints.wait_for(|c| c.reflected() >= target))
            .await
            .map(|waited| waited.is_ok());
    match reached {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(timeout()),
    }
}
