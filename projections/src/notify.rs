//! Telling live readers that a projection committed a batch: the checkpoint it reached and
//! the view rows it changed.
//!
//! The runtime sends `NOTIFY` on [`CHANNEL`] inside the batch's transaction, so a
//! notification arrives if and only if the batch committed, after it committed, and in
//! commit order. GraphQL waits on these for read-your-writes and pushes changed orders to
//! subscribers from them. Payloads are text, at most [`KEYS_PER_NOTIFICATION`] keys each
//! (PostgreSQL caps a payload at 8000 bytes): `<name> <transaction_id> <position>`,
//! optionally followed by a space and comma-separated keys in simple UUID form.

use event_store::LogPosition;
use sqlx::PgConnection;
use uuid::Uuid;

/// The channel projections announce their commits on.
pub const CHANNEL: &str = "oms_projections";

/// Keys in one notification: 200 × 33 bytes stays well under PostgreSQL's 8000.
pub const KEYS_PER_NOTIFICATION: usize = 200;

/// One notification: a projection committed up to `checkpoint`, changing `changed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub projection: String,
    pub checkpoint: LogPosition,
    pub changed: Vec<Uuid>,
}

impl Committed {
    /// Reads a payload; `None` for one this version does not understand.
    pub fn parse(payload: &str) -> Option<Self> {
        let mut parts = payload.split(' ');
        let projection = parts.next().filter(|name| !name.is_empty())?.to_owned();
        let transaction_id = parts.next()?.parse().ok()?;
        let position = parts.next()?.parse().ok()?;
        let changed = match parts.next() {
            None => Vec::new(),
            Some(keys) => keys
                .split(',')
                .map(Uuid::try_parse)
                .collect::<Result<_, _>>()
                .ok()?,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            projection,
            checkpoint: LogPosition {
                transaction_id,
                position,
            },
            changed,
        })
    }

    /// The payloads announcing this commit: one, or one per chunk of keys.
    pub fn payloads(&self) -> Vec<String> {
        let head = format!(
            "{} {} {}",
            self.projection, self.checkpoint.transaction_id, self.checkpoint.position
        );
        if self.changed.is_empty() {
            return vec![head];
        }
        self.changed
            .chunks(KEYS_PER_NOTIFICATION)
            .map(|chunk| {
                let keys: Vec<String> = chunk.iter().map(|k| k.simple().to_string()).collect();
                format!("{head} {}", keys.join(","))
            })
            .collect()
    }
}

/// The payloads announcing that `projection` reached `checkpoint` changing `changed`.
pub(crate) fn payloads(projection: &str, checkpoint: LogPosition, changed: &[Uuid]) -> Vec<String> {
    Committed {
        projection: projection.to_owned(),
        checkpoint,
        changed: changed.to_vec(),
    }
    .payloads()
}

/// Announces, inside `tx`, that `projection` reached `checkpoint` changing `changed`.
pub(crate) async fn within(
    tx: &mut PgConnection,
    projection: &str,
    checkpoint: LogPosition,
    changed: &[Uuid],
) -> Result<(), sqlx::Error> {
    let payloads = payloads(projection, checkpoint, changed);
    sqlx::query("SELECT pg_notify($1, payload) FROM UNNEST($2::text[]) WITH ORDINALITY AS p(payload, n) ORDER BY n")
        .bind(CHANNEL)
        .bind(payloads)
        .execute(tx)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_in_chunks_under_the_size_cap() {
        let changed: Vec<Uuid> = (0..450).map(|_| Uuid::new_v4()).collect();
        let committed = Committed {
            projection: "orders".into(),
            checkpoint: LogPosition {
                transaction_id: 7_000_000_001,
                position: 123_456,
            },
            changed: changed.clone(),
        };
        let payloads = committed.payloads();
        assert_eq!(payloads.len(), 3);
        assert!(payloads.iter().all(|p| p.len() < 8000));
        let parsed: Vec<Committed> = payloads
            .iter()
            .map(|p| Committed::parse(p).expect("parses"))
            .collect();
        assert!(parsed.iter().all(|c| c.checkpoint == committed.checkpoint));
        let keys: Vec<Uuid> = parsed.into_iter().flat_map(|c| c.changed).collect();
        assert_eq!(keys, changed);
    }

    #[test]
    fn a_commit_without_changes_is_one_short_payload() {
        let committed = Committed {
            projection: "products".into(),
            checkpoint: LogPosition {
                transaction_id: 3,
                position: 9,
            },
            changed: vec![],
        };
        assert_eq!(committed.payloads(), vec!["products 3 9".to_owned()]);
        assert_eq!(Committed::parse("products 3 9"), Some(committed));
    }

    #[test]
    fn foreign_payloads_are_refused() {
        for payload in [
            "",
            "orders",
            "orders x 1",
            "orders 1 2 not-a-uuid",
            "a 1 2 3 4",
        ] {
            assert_eq!(Committed::parse(payload), None, "{payload:?}");
        }
    }
}
