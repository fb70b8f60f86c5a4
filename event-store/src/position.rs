//! Where a reader stands in the global log.

use serde::{Deserialize, Serialize};

/// A point in the global log order: (transaction id, position).
///
/// Events are read in this order, not by `position` alone: positions are taken before
/// commit, so a smaller position can become visible after a larger one. Ordering by the
/// writing transaction first, and only reading transactions that have all finished (see
/// [`crate::EventLog::read_after`]), makes the order final: nothing can ever appear behind
/// a checkpoint. `position` stays the public, unique number of an event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct LogPosition {
    /// The id of the transaction that appended the event, in the log's count
    /// (`pg_current_xact_id()` plus the offset of [`crate::clock`]).
    pub transaction_id: i64,
    /// The event's global position (unique, increasing in insertion order).
    pub position: i64,
}

impl LogPosition {
    /// Before the first event of the log.
    pub const START: Self = Self {
        transaction_id: 0,
        position: 0,
    };
}
