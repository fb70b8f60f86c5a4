//! Aggregates as the write side sees them: loaded from their latest snapshot and the
//! events after it, and appended with a fresh snapshot every [`SNAPSHOT_EVERY`] events, so
//! that no command's cost grows with its aggregate's history (docs/adr/0010).
//!
//! A snapshot is the aggregate's own serde form, stored with the sequence and position of
//! the last event folded into it and the aggregate's snapshot schema version. It is
//! written in the transaction that appends that event ([`AggregateStore::save_snapshots`]
//! after the insert), so it never runs ahead of the log, and a snapshot whose version is
//! not the aggregate's current one is ignored: the aggregate is folded from its events and
//! snapshotted again at its next multiple.

use std::collections::HashMap;
use std::sync::Arc;

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use cqrs_es::{Aggregate, DomainEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::read::{decode, COLUMNS};
use crate::{Appended, EventLog, RecordedEvent};

/// An append that carries an aggregate to or past a multiple of this many events stores a
/// snapshot of it: a load folds fewer than this many events after its snapshot.
pub const SNAPSHOT_EVERY: i64 = 25;

/// An aggregate as loaded.
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    pub aggregate: A,
    /// The sequence of its last event (0: it has none).
    pub version: i64,
    /// The global position of its last event (0: none).
    pub last_position: i64,
}

impl<A: Default> Default for Loaded<A> {
    fn default() -> Self {
        Self {
            aggregate: A::default(),
            version: 0,
            last_position: 0,
        }
    }
}

/// Why an aggregate could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("database error while loading an aggregate")]
    Database(#[from] sqlx::Error),
    #[error("stored {aggregate_type} {aggregate_id} cannot be decoded: {source}")]
    Corrupt {
        aggregate_type: String,
        aggregate_id: String,
        source: serde_json::Error,
    },
}

/// A snapshot due with an append (see [`AggregateStore::snapshot`]).
#[derive(Debug, Clone)]
pub struct Snapshot {
    aggregate_type: &'static str,
    aggregate_id: String,
    schema_version: i32,
    sequence: i64,
    state: Value,
}

/// Loads and snapshots aggregates over the log. Cheap to clone.
#[derive(Clone)]
pub struct AggregateStore {
    log: EventLog,
    upcasters: Arc<Vec<Box<dyn EventUpcaster>>>,
    schemas: &'static [(&'static str, u32)],
}

impl std::fmt::Debug for AggregateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregateStore")
            .field("schemas", &self.schemas)
            .finish_non_exhaustive()
    }
}

impl AggregateStore {
    /// `upcasters` bring stored events to their current version; `schemas` names each
    /// aggregate type that is snapshotted with its snapshot schema version (others never
    /// are).
    pub fn new(
        log: EventLog,
        upcasters: Vec<Box<dyn EventUpcaster>>,
        schemas: &'static [(&'static str, u32)],
    ) -> Self {
        Self {
            log,
            upcasters: Arc::new(upcasters),
            schemas,
        }
    }

    pub fn log(&self) -> &EventLog {
        &self.log
    }

    fn schema_of(&self, aggregate_type: &str) -> Option<i32> {
        self.schemas
            .iter()
            .find(|(t, _)| *t == aggregate_type)
            .and_then(|(_, v)| i32::try_from(*v).ok())
    }

    /// The aggregate `id` (a default one at version 0 when it has no events).
    pub async fn load<A>(&self, id: &str) -> Result<Loaded<A>, LoadError>
    where
        A: Aggregate + DeserializeOwned,
    {
        let mut many = self.load_many::<A>(&[id.to_owned()]).await?;
        Ok(many.remove(id).unwrap_or_default())
    }

    /// Several aggregates of type `A` in one round trip; those without events are absent.
    /// An id named twice is loaded once.
    pub async fn load_many<A>(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Loaded<A>>, LoadError>
    where
        A: Aggregate + DeserializeOwned,
    {
        let mut loaded: HashMap<String, Loaded<A>> = HashMap::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(loaded);
        }
        // Each id once: the statement returns an aggregate's events once per mention, and
        // they would be applied again.
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        // One row per event after each aggregate's snapshot (one all-NULL row for an
        // aggregate with nothing after it); the snapshot columns repeat on each.
        let sql = format!(
            "SELECT ids.id, s.sequence, s.position, s.state, e.* FROM unnest($2::text[]) AS ids(id)
             LEFT JOIN aggregate_snapshots s
                    ON s.aggregate_type = $1 AND s.aggregate_id = ids.id AND s.schema_version = $3
             LEFT JOIN LATERAL (
                 SELECT {COLUMNS} FROM events
                 WHERE aggregate_type = $1 AND aggregate_id = ids.id
                   AND sequence > coalesce(s.sequence, 0)
                 ORDER BY sequence
             ) e ON true
             ORDER BY ids.id, e.sequence"
        );
        let rows: Vec<PgRow> = crate::once_more_if_broken(|| async {
            let mut lease = self.log.leases().lease().await?;
            let rows = sqlx::query(&sql)
                .bind(A::TYPE)
                .bind(&ids)
                .bind(self.schema_of(A::TYPE).unwrap_or(-1))
                .fetch_all(&mut *lease)
                .await;
            lease.finished(rows)
        })
        .await?;
        for row in &rows {
            let id: String = row.try_get(0)?;
            let corrupt = |source| LoadError::Corrupt {
                aggregate_type: A::TYPE.to_owned(),
                aggregate_id: id.clone(),
                source,
            };
            if !loaded.contains_key(&id) {
                let snapshot: Option<&RawValue> = row.try_get(3)?;
                if let Some(state) = snapshot {
                    let aggregate = serde_json::from_str(state.get()).map_err(corrupt)?;
                    loaded.insert(
                        id.clone(),
                        Loaded {
                            aggregate,
                            version: row.try_get(1)?,
                            last_position: row.try_get(2)?,
                        },
                    );
                }
            }
            if row.try_get::<Option<i64>, _>(4)?.is_none() {
                continue;
            }
            let event = decode(row, 4)?;
            let entry = loaded.entry(id.clone()).or_default();
            entry.version = event.sequence;
            entry.last_position = event.position;
            let payload = self.payload::<A>(event).map_err(corrupt)?;
            entry.aggregate.apply(payload);
        }
        Ok(loaded)
    }

    /// A stored event as its aggregate's event type, upcast to the current version.
    fn payload<A: Aggregate>(&self, event: RecordedEvent) -> serde_json::Result<A::Event> {
        let mut serialized = event.into_serialized()?;
        for upcaster in self.upcasters.iter() {
            if upcaster.can_upcast(&serialized.event_type, &serialized.event_version) {
                serialized = upcaster.upcast(serialized);
            }
        }
        serde_json::from_value(serialized.payload)
    }

    /// The snapshot due when an append takes `aggregate` (its state after the append) from
    /// `from_version` to `to_version`, if that passes a multiple of [`SNAPSHOT_EVERY`] and
    /// its type is snapshotted.
    pub fn snapshot<A>(
        &self,
        id: &str,
        aggregate: &A,
        from_version: i64,
        to_version: i64,
    ) -> Result<Option<Snapshot>, serde_json::Error>
    where
        A: Aggregate + Serialize,
    {
        let Some(schema_version) = self.schema_of(A::TYPE) else {
            return Ok(None);
        };
        if to_version / SNAPSHOT_EVERY == from_version / SNAPSHOT_EVERY {
            return Ok(None);
        }
        Ok(Some(Snapshot {
            aggregate_type: A::TYPE,
            aggregate_id: id.to_owned(),
            schema_version,
            sequence: to_version,
            state: serde_json::to_value(aggregate)?,
        }))
    }

    /// Stores `snapshots`, each with the log position of the event it was taken after, in
    /// the transaction that appended those events.
    pub async fn save_snapshots(
        conn: &mut PgConnection,
        snapshots: &[(Snapshot, i64)],
    ) -> Result<(), sqlx::Error> {
        if snapshots.is_empty() {
            return Ok(());
        }
        let n = snapshots.len();
        let (mut types, mut ids, mut schemas) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut sequences, mut positions, mut states) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (snapshot, position) in snapshots {
            types.push(snapshot.aggregate_type);
            ids.push(snapshot.aggregate_id.as_str());
            schemas.push(snapshot.schema_version);
            sequences.push(snapshot.sequence);
            positions.push(*position);
            states.push(&snapshot.state);
        }
        sqlx::query(
            "INSERT INTO aggregate_snapshots
                 (aggregate_type, aggregate_id, schema_version, sequence, position, state)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int[], $4::bigint[], $5::bigint[],
                                  $6::jsonb[])
             ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
               SET schema_version = EXCLUDED.schema_version, sequence = EXCLUDED.sequence,
                   position = EXCLUDED.position, state = EXCLUDED.state",
        )
        .bind(&types)
        .bind(&ids)
        .bind(&schemas)
        .bind(&sequences)
        .bind(&positions)
        .bind(&states)
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// Pairs each snapshot with the position its event got in an append of `events` (as
/// `appended`). A snapshot whose event is not among them is a bug: `None`.
pub fn positioned(
    snapshots: Vec<Snapshot>,
    events: &[SerializedEvent],
    appended: &Appended,
) -> Option<Vec<(Snapshot, i64)>> {
    at_positions(placed(snapshots, events)?, appended)
}

/// Snapshots [`placed`] among an append's events, with the positions those events got
/// (as `appended`). `None`: a place past the append (a bug).
pub fn at_positions(
    placed: Vec<(Snapshot, usize)>,
    appended: &Appended,
) -> Option<Vec<(Snapshot, i64)>> {
    placed
        .into_iter()
        .map(|(snapshot, at)| Some((snapshot, *appended.positions.get(at)?)))
        .collect()
}

/// Pairs each snapshot with the index of its event in `events`, for an append whose
/// positions are not known yet ([`positioned`] once they are). A snapshot whose event is
/// not among them is a bug: `None`.
pub fn placed(
    snapshots: Vec<Snapshot>,
    events: &[SerializedEvent],
) -> Option<Vec<(Snapshot, usize)>> {
    let places: HashMap<(&str, &str, i64), usize> = events
        .iter()
        .enumerate()
        .map(|(at, e)| {
            let sequence = i64::try_from(e.sequence).unwrap_or(i64::MAX);
            (
                (e.aggregate_type.as_str(), e.aggregate_id.as_str(), sequence),
                at,
            )
        })
        .collect();
    snapshots
        .into_iter()
        .map(|snapshot| {
            let key = (
                snapshot.aggregate_type,
                snapshot.aggregate_id.as_str(),
                snapshot.sequence,
            );
            let at = *places.get(&key)?;
            Some((snapshot, at))
        })
        .collect()
}

/// `events` of aggregate `id` as the log stores them, numbered after `version`, each with
/// `metadata`.
pub fn serialize<A: Aggregate>(
    id: &str,
    version: i64,
    events: Vec<A::Event>,
    metadata: &Value,
) -> serde_json::Result<Vec<SerializedEvent>> {
    let first = usize::try_from(version).unwrap_or_default() + 1;
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| {
            Ok(SerializedEvent {
                aggregate_id: id.to_owned(),
                sequence: first + i,
                aggregate_type: A::TYPE.to_owned(),
                event_type: event.event_type(),
                event_version: event.event_version(),
                payload: serde_json::to_value(&event)?,
                metadata: metadata.clone(),
            })
        })
        .collect()
}
