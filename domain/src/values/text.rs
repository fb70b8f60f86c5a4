//! Short texts: trimmed, non-empty, bounded in characters.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::ValueError;

/// Which control characters a text may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lines {
    /// None: names, codes, references.
    One,
    /// Line breaks and tabs (free text such as a reason); no other control character.
    Many,
}

/// Trims `text` and checks it is non-empty, at most `max` characters, and free of control
/// characters (`lines` says which breaks are allowed). NUL can never be stored (PostgreSQL
/// text and jsonb refuse it), so it must never reach the log.
pub(crate) fn bounded(text: &str, max: usize, lines: Lines) -> Result<String, ValueError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ValueError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(ValueError::TooLong { max });
    }
    let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\r' | '\t');
    if trimmed.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(ValueError::Invalid(match lines {
            Lines::One => "must not contain control characters",
            Lines::Many => "must not contain control characters other than line breaks and tabs",
        }));
    }
    Ok(trimmed.to_owned())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        bounded_text!($(#[$doc])* $name, $max, Lines::One);
    };
    ($(#[$doc:meta])* $name:ident, $max:expr, $lines:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The most characters it may have.
            pub const MAX: usize = $max;

            /// Trims, then checks it is non-empty, at most [`Self::MAX`] characters, and
            /// free of control characters (line breaks allowed only in free text).
            pub fn parse(text: impl AsRef<str>) -> Result<Self, ValueError> {
                bounded(text.as_ref(), Self::MAX, $lines).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Its OpenAPI schema (the same rules as [`Self::parse`]).
            #[cfg(feature = "openapi")]
            pub fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                super::schema::text(Self::MAX, $lines)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(text: String) -> Result<Self, ValueError> {
                Self::parse(text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_text!(
    /// A customer's name.
    PersonName,
    200
);
bounded_text!(
    /// A product's name.
    ProductName,
    200
);
bounded_text!(
    /// A label for an address ("home", "office").
    AddressLabel,
    200
);
bounded_text!(
    /// A street line of an address.
    AddressLine,
    200
);
bounded_text!(
    /// A city.
    City,
    200
);
bounded_text!(
    /// A postal code.
    PostalCode,
    20
);
bounded_text!(
    /// A carrier's name.
    Carrier,
    200
);
bounded_text!(
    /// A carrier's tracking number.
    TrackingNumber,
    200
);
bounded_text!(
    /// How an order was paid ("card", "invoice").
    PaymentMethod,
    200
);
bounded_text!(
    /// The payment provider's reference.
    PaymentReference,
    200
);
bounded_text!(
    /// Why something was cancelled (free text: line breaks allowed).
    Reason,
    1000,
    Lines::Many
);
