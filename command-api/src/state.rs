//! The state every route shares: one `Clone` struct of shared handles.

use std::sync::Arc;

use cqrs_es::persist::EventUpcaster;
use domain::clock::SharedClock;
use event_store::EventLog;

#[derive(Clone)]
pub struct AppState {
    pub(crate) log: EventLog,
    pub(crate) clock: SharedClock,
    pub(crate) upcasters: Arc<Vec<Box<dyn EventUpcaster>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("log", &self.log)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Commands on `log`, with time from `clock` and the domain's upcasters.
    pub fn new(log: EventLog, clock: SharedClock) -> Self {
        Self {
            log,
            clock,
            upcasters: Arc::new(domain::events::upcasters()),
        }
    }
}
