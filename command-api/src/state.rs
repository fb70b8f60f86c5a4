//! The state every route shares: one `Clone` struct of shared handles.

use std::sync::Arc;

use auth::Authenticator;
use domain::clock::SharedClock;
use event_store::{AggregateStore, EventLog};

use crate::turns::Turns;

#[derive(Clone)]
pub struct AppState {
    pub(crate) log: EventLog,
    pub(crate) clock: SharedClock,
    pub(crate) store: AggregateStore,
    pub(crate) auth: Authenticator,
    pub(crate) turns: Arc<Turns>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("log", &self.log)
            .field("clock", &self.clock)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Commands on `log`, with time from `clock`, the domain's upcasters and snapshots;
    /// authentication off (see [`AppState::authenticated_by`]).
    pub fn new(log: EventLog, clock: SharedClock) -> Self {
        Self {
            store: AggregateStore::new(
                log.clone(),
                domain::events::upcasters(),
                domain::events::SNAPSHOTS,
            ),
            log,
            clock,
            auth: Authenticator::Off,
            turns: Arc::new(Turns::new()),
        }
    }

    /// The same, with requests authenticated by `auth`.
    pub fn authenticated_by(mut self, auth: Authenticator) -> Self {
        self.auth = auth;
        self
    }
}
