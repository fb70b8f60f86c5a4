//! The read-model tables, each declared once: its row (read with `FromRow` by
//! [`column`], written as JSON), name, key and columns, every column's SQL type taken
//! from its Rust type. The projection that writes a table and every reader of it
//! (GraphQL's data layer) use the same declaration; the migrations create the tables, and
//! a test holds every declaration against the migrated database.

pub mod customers;
pub mod orders;
pub mod products;
pub mod shipments;

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use sqlx::postgres::{PgHasArrayType, PgRow, PgTypeInfo, PgValueRef};
use sqlx::{PgConnection, Postgres, TypeInfo};

/// Declares a read-model table's row struct and its [`Table`] (`Row::TABLE`).
macro_rules! table {
    (
        $(#[$meta:meta])*
        $row:ident in $name:literal keyed by ($($key:ident),+) {
            $(#[$first_meta:meta])* $first:ident: $first_ty:ty,
            $($(#[$field_meta:meta])* $field:ident: $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        pub struct $row {
            $(#[$first_meta])* pub $first: $first_ty,
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $row {
            fn from_row(row: &'r sqlx::postgres::PgRow) -> sqlx::Result<Self> {
                let mut at = 0_usize..;
                Ok(Self {
                    $first: $crate::tables::column(row, at.next(), stringify!($first))?,
                    $($field: $crate::tables::column(row, at.next(), stringify!($field))?,)*
                })
            }
        }

        impl $row {
            pub const TABLE: $crate::tables::Table = $crate::tables::Table {
                name: $name,
                key: &[$(stringify!($key)),+],
                columns: &[stringify!($first) $(, stringify!($field))*],
                select: concat!(stringify!($first) $(, ", ", stringify!($field))*),
                types: || vec![
                    <$first_ty as sqlx::Type<sqlx::Postgres>>::type_info()
                    $(, <$ty as sqlx::Type<sqlx::Postgres>>::type_info())*
                ],
            };
        }
    };
}
pub(crate) use table;

/// The value of field `name`, the `at`-th of its row: read by place when the statement
/// selected the table's columns in order (as every `SELECT` of [`Table::select`] does),
/// else by name. By place skips hashing each column's name for each row, a good part of
/// what decoding a wide row costs.
pub fn column<'r, T>(row: &'r PgRow, at: Option<usize>, name: &str) -> sqlx::Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    use sqlx::{Column, Row};
    match at.filter(|at| row.columns().get(*at).is_some_and(|c| c.name() == name)) {
        Some(at) => row.try_get(at),
        None => row.try_get(name),
    }
}

/// A read-model table: its name, key and columns (in the order of its row's fields).
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub key: &'static [&'static str],
    pub columns: &'static [&'static str],
    /// The columns, comma-separated, for `SELECT`s into the row.
    pub select: &'static str,
    types: fn() -> Vec<PgTypeInfo>,
}

/// Every read-model table.
pub const ALL: &[&Table] = &[
    &orders::OrderRow::TABLE,
    &orders::OrderLineRow::TABLE,
    &orders::OrderHistoryRow::TABLE,
    &orders::OrderCustomerRow::TABLE,
    &customers::CustomerRow::TABLE,
    &customers::AddressRow::TABLE,
    &shipments::ShipmentRow::TABLE,
    &products::ProductRow::TABLE,
];

/// What to do with a row whose key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    Update,
    Ignore,
}

impl Table {
    /// Each column with the SQL type of its field (`NULL`able or not), as the database
    /// names it (`INT8`, `TEXT`, `UUID`, …).
    pub fn column_types(&self) -> Vec<(&'static str, String)> {
        self.columns
            .iter()
            .copied()
            .zip((self.types)().iter().map(|t| t.name().to_owned()))
            .collect()
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
        let record = self
            .column_types()
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
                    .filter(|name| !self.key.contains(name))
                    .map(|name| format!("{name} = excluded.{name}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("DO UPDATE SET {sets}")
            }
        };
        let sql = format!(
            "INSERT INTO {table} ({names}) SELECT {names} FROM jsonb_to_recordset($1) AS r({record})
             ON CONFLICT ({key}) {conflict}",
            table = self.name,
            names = self.select,
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
///
/// A batch's reads by keys are planned at each run for the table as it is then (unnamed
/// statements), as [`by_keys`] says.
pub(crate) async fn rows_by_key<R, K>(
    tx: &mut PgConnection,
    sql: &str,
    mut keys: Vec<K>,
    key_of: impl Fn(&R) -> K,
) -> anyhow::Result<HashMap<K, R>>
where
    R: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    K: Ord
        + std::hash::Hash
        + Send
        + PgHasArrayType
        + for<'q> sqlx::Encode<'q, Postgres>
        + sqlx::Type<Postgres>,
{
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = by_keys(sqlx::query_as::<_, R>(sql))
        .bind(keys)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows.into_iter().map(|row| (key_of(&row), row)).collect())
}

/// `query`, a batch's read of a table's rows by sets of keys, planned at each run (an
/// unnamed statement) for the table as it is then and for those keys. Read models grow
/// from nothing far faster than their statistics are refreshed: a plan kept from when
/// the table was small scans it whole for every batch, comparing each row with every key,
/// which makes a bulk load quadratic.
pub fn by_keys<'q, O>(
    query: sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments>,
) -> sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments> {
    query.persistent(false)
}

/// A domain status as a read model stores it: the name the domain's serde gives it
/// (`PLACED`, `DISPATCHED`), in a `text` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status<S>(pub S);

impl<S: Serialize> Serialize for Status<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.0.serialize(serializer)
    }
}

impl<S> sqlx::Type<Postgres> for Status<S> {
    fn type_info() -> PgTypeInfo {
        <String as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl<'r, S: DeserializeOwned> sqlx::Decode<'r, Postgres> for Status<S> {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let name = <&str as sqlx::Decode<Postgres>>::decode(value)?;
        let deserializer = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name);
        Ok(Self(S::deserialize(deserializer)?))
    }
}
