//! Stock-keeping units: a product's id.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::ValueError;

/// A product's sku: `[A-Za-z0-9._-]{1,64}`, compared exactly (letter case matters).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    pub const MAX: usize = 64;

    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValueError> {
        let text = text.as_ref().trim();
        if text.is_empty() {
            return Err(ValueError::Empty);
        }
        if text.len() > Self::MAX {
            return Err(ValueError::TooLong { max: Self::MAX });
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(ValueError::Invalid(
                "may contain only letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = ValueError;
    fn try_from(text: String) -> Result<Self, ValueError> {
        Self::parse(text)
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> String {
        sku.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
