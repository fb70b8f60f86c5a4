//! Scalars and argument parsing shared by the views.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value, ID};
use chrono::{SecondsFormat, Utc};
use uuid::Uuid;

use crate::errors::bad_user_input;

/// `DateTime`: RFC 3339 in UTC, like `2026-11-22T12:30:00.123456Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub chrono::DateTime<Utc>);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|at| Self(at.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom("expected an RFC 3339 date-time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(at: chrono::DateTime<Utc>) -> Self {
        Self(at)
    }
}

/// An `ID` argument that must be a UUID.
pub fn uuid(id: &ID, what: &str) -> async_graphql::Result<Uuid> {
    Uuid::try_parse(id.as_str())
        .map_err(|_| bad_user_input(format!("{what} is not a UUID: {:?}", id.as_str())))
}

/// The page size of a connection: 1..=100, 20 when not given.
pub fn page_size(first: Option<i32>) -> async_graphql::Result<i64> {
    let first = first.unwrap_or(DEFAULT_PAGE);
    if (1..=MAX_PAGE).contains(&first) {
        Ok(i64::from(first))
    } else {
        Err(bad_user_input(format!(
            "first must be between 1 and {MAX_PAGE}, not {first}"
        )))
    }
}

/// The largest page a connection serves.
pub const MAX_PAGE: i32 = 100;

/// The page a connection serves when `first` is not given.
pub const DEFAULT_PAGE: i32 = 20;
