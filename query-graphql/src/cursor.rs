//! Opaque cursors for keyset pagination: the sort key of the last row of a page.
//!
//! A cursor is the sort key in base64url, so a page continues exactly after the row it
//! names however many rows arrive in between. Clients must not build cursors; one this
//! service did not hand out is `BAD_USER_INPUT`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::errors::bad_user_input;

/// A row's position in a `(timestamp desc, id desc)` order: orders and customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeCursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl TimeCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "t:{}:{}",
            self.at.timestamp_micros(),
            self.id.simple()
        ))
    }

    pub fn decode(cursor: &str) -> async_graphql::Result<Self> {
        let invalid = || bad_user_input(format!("not a cursor of this list: {cursor:?}"));
        let text = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let text = String::from_utf8(text).map_err(|_| invalid())?;
        let rest = text.strip_prefix("t:").ok_or_else(invalid)?;
        let (micros, id) = rest.split_once(':').ok_or_else(invalid)?;
        let at = micros
            .parse()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(invalid)?;
        let id = Uuid::try_parse(id).map_err(|_| invalid())?;
        Ok(Self { at, id })
    }
}

/// A product's position in sku order.
pub fn encode_sku(sku: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("s:{sku}"))
}

pub fn decode_sku(cursor: &str) -> async_graphql::Result<String> {
    let invalid = || bad_user_input(format!("not a cursor of this list: {cursor:?}"));
    let text = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(text).map_err(|_| invalid())?;
    text.strip_prefix("s:")
        .map(str::to_owned)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let cursor = TimeCursor {
            at: DateTime::from_timestamp_micros(1_790_000_000_123_456).expect("time"),
            id: Uuid::new_v4(),
        };
        assert_eq!(
            TimeCursor::decode(&cursor.encode()).expect("decodes"),
            cursor
        );
        assert_eq!(decode_sku(&encode_sku("A-1.b")).expect("decodes"), "A-1.b");
        for foreign in ["", "x", "dDox", &encode_sku("A")] {
            assert!(TimeCursor::decode(foreign).is_err(), "{foreign:?}");
        }
        assert!(decode_sku(&cursor.encode()).is_err());
    }
}
