//! A working set: aggregates of one type loaded together (one statement), many commands
//! decided on them in memory, in order, each on the state the ones before it left, and
//! their events collected for one append. For writers that decide many commands at once:
//! the fulfilment process manager's batches, and commands run in bulk.

use std::collections::HashMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::SerializedEvent;
use cqrs_es::Aggregate;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::aggregates::{self, AggregateStore, LoadError, Loaded, Snapshot};

/// The aggregates of one type that a writer loaded, as its decisions leave them.
#[derive(Debug)]
pub struct Working<A: Aggregate> {
    states: HashMap<String, Loaded<A>>,
    /// The aggregates decided on that produced events, with their version as loaded.
    written: HashMap<String, i64>,
}

impl<A> Working<A>
where
    A: Aggregate + Serialize + DeserializeOwned,
{
    /// Loads the aggregates `ids` (snapshot and tail, one statement).
    pub async fn load(
        store: &AggregateStore,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<Self, LoadError> {
        let ids: Vec<String> = ids.into_iter().collect();
        Ok(Self {
            states: store.load_many::<A>(&ids).await?,
            written: HashMap::new(),
        })
    }

    /// The aggregate as decided so far (`None`: it has no events).
    pub fn get(&self, id: &str) -> Option<&A> {
        self.states
            .get(id)
            .filter(|loaded| loaded.version > 0)
            .map(|loaded| &loaded.aggregate)
    }

    /// The aggregate as decided so far with its version, counting the events decided
    /// here (its `last_position` is still the loaded one's); the default at version 0 for
    /// one without events.
    pub fn loaded(&mut self, id: &str) -> &Loaded<A> {
        self.states.entry(id.to_owned()).or_default()
    }

    /// Every aggregate loaded or decided on.
    pub fn aggregates(&self) -> impl Iterator<Item = &A> {
        self.states.values().map(|loaded| &loaded.aggregate)
    }

    /// Decides `command` on aggregate `id`; its events are applied here and added to
    /// `appended`, numbered after the aggregate's version, each with `metadata`.
    /// `Ok(Err(_))` is the aggregate's refusal, which changes nothing.
    pub async fn decide(
        &mut self,
        id: &str,
        command: A::Command,
        services: &A::Services,
        metadata: &Value,
        appended: &mut Vec<SerializedEvent>,
    ) -> serde_json::Result<Result<(), A::Error>> {
        let loaded = self.states.entry(id.to_owned()).or_default();
        let sink = EventSink::default();
        if let Err(refusal) = loaded.aggregate.handle(command, services, &sink).await {
            return Ok(Err(refusal));
        }
        let events =
            aggregates::serialize::<A>(id, loaded.version, sink.collect().await, metadata)?;
        if !events.is_empty() {
            self.written.entry(id.to_owned()).or_insert(loaded.version);
            loaded.version += i64::try_from(events.len()).unwrap_or(i64::MAX);
            appended.extend(events);
        }
        Ok(Ok(()))
    }

    /// The snapshots the decided events make due.
    pub fn snapshots(&self, store: &AggregateStore) -> serde_json::Result<Vec<Snapshot>> {
        let mut due = Vec::new();
        for (id, &from) in &self.written {
            if let Some(loaded) = self.states.get(id) {
                due.extend(store.snapshot(id, &loaded.aggregate, from, loaded.version)?);
            }
        }
        Ok(due)
    }
}
