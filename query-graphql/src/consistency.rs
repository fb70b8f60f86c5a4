//! Read-your-writes and `extensions.position` (applied by [`crate::extension`]).
//!
//! A request with `OMS-Min-Position: N` is executed only once every read model has
//! applied the event at position N: the hub is woken by the projections' commit
//! notifications, there is no polling loop. Past [`MAX_WAIT`] the request fails with
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
    // The event's place in the log order; until it is committed, wait for news.
    let target: LogPosition = loop {
        checkpoints.borrow_and_update();
        match log.position_of(min).await {
            Ok(Some(target)) => break target,
            Ok(None) => {}
            Err(error) => return Err(crate::errors::database_server_error(&error)),
        }
        match tokio::time::timeout_at(deadline, checkpoints.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Err(timeout()),
        }
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
