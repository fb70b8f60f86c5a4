//! Commands to one aggregate take turns in this process: each holds its aggregate's turn
//! from loading it until its events are committed, so the next one loads what it committed
//! instead of deciding on the same state and losing the optimistic-lock race.
//!
//! Appends commit in groups (`event_store`'s group commit), which widens the time between
//! a command's load and its commit; without turns, the concurrent commands of a busy
//! aggregate lost that race again and again, some until their attempts ran out (a 409).
//! Writers in other processes still race, and a loser decides again as before. Turns are
//! striped: aggregates whose keys fall on the same stripe share one.

use std::hash::BuildHasher;

use tokio::sync::{Mutex, MutexGuard};

/// Enough stripes that concurrent commands to different aggregates seldom share one.
const STRIPES: usize = 1_024;

#[derive(Debug)]
pub(crate) struct Turns {
    stripes: Vec<Mutex<()>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Turns {
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Waits for the turn of aggregate `id` of `aggregate_type` (first come, first served).
    pub(crate) async fn take(&self, aggregate_type: &str, id: &str) -> MutexGuard<'_, ()> {
        let stripe = self.hasher.hash_one((aggregate_type, id)) as usize % STRIPES;
        self.stripes[stripe].lock().await
    }
}
