//! Time, as a fact the domain asks for. Events record the time their aggregate decided, so
//! a replay reproduces every timestamp.

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::values::Timestamp;

/// Where aggregates get "now" from.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> Timestamp;
}

/// Shared handle to a clock: the `Services` of the aggregates that record time.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock, truncated to microseconds (what PostgreSQL stores).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Utc::now().into()
    }
}

/// A clock that always says the same time: for tests and deterministic tools.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0.into()
    }
}
