//! Writing a batch of rows to a table in one statement.

use serde::Serialize;
use sqlx::PgConnection;

/// A read-model table: its name, key and columns with their SQL types (in the order of the
/// row struct's fields, which must serialise with the same names).
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) key: &'static [&'static str],
    pub(crate) columns: &'static [(&'static str, &'static str)],
}

/// What to do with a row whose key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    Update,
    Ignore,
}

impl Table {
    /// The column list for `SELECT`s into the row struct.
    pub(crate) fn select_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Inserts `rows` (or updates them, by key), with one statement.
    pub(crate) async fn write<R: Serialize>(
        &self,
        tx: &mut PgConnection,
        rows: &[R],
        on_conflict: OnConflict,
    ) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let names = self.select_list();
        let record = self
            .columns
            .iter()
            .map(|(name, ty)| format!("{name} {ty}"))
            .collect::<Vec<_>>()
            .join(", ");
        let conflict = match on_conflict {
            OnConflict::Ignore => "DO NOTHING".to_owned(),
            OnConflict::Update => {
                let sets = self
                    .columns
                    .iter()
                    .filter(|(name, _)| !self.key.contains(name))
                    .map(|(name, _)| format!("{name} = excluded.{name}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("DO UPDATE SET {sets}")
            }
        };
        let sql = format!(
            "INSERT INTO {table} ({names}) SELECT {names} FROM jsonb_to_recordset($1) AS r({record})
             ON CONFLICT ({key}) {conflict}",
            table = self.name,
            key = self.key.join(", "),
        );
        sqlx::query(&sql)
            .bind(serde_json::to_value(rows)?)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

/// The rows `sql` selects for `keys` (bound as `$1`, an array), indexed by `key_of`:
/// a batch's one read per table.
pub(crate) async fn rows_by_key<R, K>(
    tx: &mut PgConnection,
    sql: &str,
    mut keys: Vec<K>,
    key_of: impl Fn(&R) -> K,
) -> anyhow::Result<std::collections::HashMap<K, R>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    K: Ord
        + std::hash::Hash
        + Send
        + sqlx::postgres::PgHasArrayType
        + for<'q> sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>,
{
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows = sqlx::query_as::<_, R>(sql)
        .bind(keys)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows.into_iter().map(|row| (key_of(&row), row)).collect())
}
