//! Field validation that reports every broken field, with its path.

use serde::Serialize;

/// Why one value is not acceptable. The message is written to follow the field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("is required")]
    Missing,
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must be between {min} and {max}")]
    OutOfRange { min: i64, max: i64 },
    #[error("{0}")]
    Invalid(&'static str),
}

/// One broken field: `field` is its path in the request, such as `lines[2].quantity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every broken field of a request (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} field(s) failed validation: {}", .0.len(), summary(.0))]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// A single broken field.
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collects field errors while a request is turned into domain values.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of `result`, if any, under `field`.
    pub fn check<T>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, ValueError>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.error(field, error.to_string());
                None
            }
        }
    }

    /// A required field: missing is an error, present is parsed by `parse`.
    pub fn required<V, T>(
        &mut self,
        field: impl Into<String>,
        value: Option<V>,
        parse: impl FnOnce(V) -> Result<T, ValueError>,
    ) -> Option<T> {
        self.check(field, value.ok_or(ValueError::Missing).and_then(parse))
    }

    /// An optional field: missing (or blank, for text) is `None`, present is parsed.
    pub fn optional<T>(
        &mut self,
        field: impl Into<String>,
        value: Option<String>,
        parse: impl FnOnce(String) -> Result<T, ValueError>,
    ) -> Option<Option<T>> {
        match value {
            Some(text) if !text.trim().is_empty() => self.check(field, parse(text)).map(Some),
            _ => Some(None),
        }
    }

    pub fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(build())` when no field was broken; otherwise every error recorded.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ValidationErrors> {
        if self.errors.is_empty() {
            if let Some(value) = build() {
                return Ok(value);
            }
        }
        Err(ValidationErrors(self.errors))
    }
}
