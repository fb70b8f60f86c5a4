//! Email addresses: one identity regardless of letter case, the original spelling kept.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::validation::ValueError;

/// An email address. Two addresses that differ only in letter case are equal (and hash
/// alike); the spelling the customer gave is kept for display.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email {
    original: String,
    normalized: String,
}

impl Email {
    /// At most 254 characters; exactly one `@`; a non-empty local part; a domain with a dot,
    /// not starting or ending with one; no white space.
    pub const MAX: usize = 254;

    pub fn parse(text: impl AsRef<str>) -> Result<Self, ValueError> {
        let text = text.as_ref().trim();
        if text.is_empty() {
            return Err(ValueError::Empty);
        }
        if text.chars().count() > Self::MAX {
            return Err(ValueError::TooLong { max: Self::MAX });
        }
        if text.chars().any(char::is_whitespace) {
            return Err(ValueError::Invalid("must not contain spaces"));
        }
        if text.chars().any(char::is_control) {
            return Err(ValueError::Invalid("must not contain control characters"));
        }
        let mut parts = text.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ValueError::Invalid("must contain exactly one @"));
        };
        if local.is_empty() {
            return Err(ValueError::Invalid("must have a name before the @"));
        }
        if !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(ValueError::Invalid(
                "must have a domain with a dot after the @",
            ));
        }
        Ok(Self {
            original: text.to_owned(),
            normalized: text.to_lowercase(),
        })
    }

    /// As the customer spelled it.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The case-insensitive identity: what uniqueness is checked on.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl Eq for Email {}

impl Hash for Email {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.normalized.hash(state);
    }
}

impl TryFrom<String> for Email {
    type Error = ValueError;
    fn try_from(text: String) -> Result<Self, ValueError> {
        Self::parse(text)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.original
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}
