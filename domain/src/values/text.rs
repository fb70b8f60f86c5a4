//! Short texts: trimmed, non-empty, bounded in characters.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::ValueError;

/// Trims `text` and checks it is non-empty and at most `max` characters.
pub(crate) fn bounded(text: &str, max: usize) -> Result<String, ValueError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ValueError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(ValueError::TooLong { max });
    }
    Ok(trimmed.to_owned())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The most characters it may have.
            pub const MAX: usize = $max;

            /// Trims, then checks it is non-empty and at most [`Self::MAX`] characters.
            pub fn parse(text: impl AsRef<str>) -> Result<Self, ValueError> {
                bounded(text.as_ref(), Self::MAX).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
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
    /// Why something was cancelled.
    Reason,
    1000
);
