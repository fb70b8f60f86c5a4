//! The CONTRACT problem each domain error stands for. HTTP statuses belong to the API.

/// A problem type of CONTRACT (`/problems/<slug>`) that the domain can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Problem {
    ValidationFailed,
    NotFound,
    UnknownCustomer,
    UnknownAddress,
    UnknownSku,
    CurrencyMismatch,
    PaymentMismatch,
    InvalidTransition,
    EmailTaken,
    SkuTaken,
}

impl Problem {
    /// Every problem the domain decides.
    pub const ALL: [Self; 10] = [
        Self::ValidationFailed,
        Self::NotFound,
        Self::UnknownCustomer,
        Self::UnknownAddress,
        Self::UnknownSku,
        Self::CurrencyMismatch,
        Self::PaymentMismatch,
        Self::InvalidTransition,
        Self::EmailTaken,
        Self::SkuTaken,
    ];

    pub const fn slug(self) -> &'static str {
        match self {
            Self::ValidationFailed => "validation-failed",
            Self::NotFound => "not-found",
            Self::UnknownCustomer => "unknown-customer",
            Self::UnknownAddress => "unknown-address",
            Self::UnknownSku => "unknown-sku",
            Self::CurrencyMismatch => "currency-mismatch",
            Self::PaymentMismatch => "payment-mismatch",
            Self::InvalidTransition => "invalid-transition",
            Self::EmailTaken => "email-taken",
            Self::SkuTaken => "sku-taken",
        }
    }
}

/// Implemented by every aggregate's error: each variant is exactly one problem.
pub trait DomainError: std::error::Error {
    fn problem(&self) -> Problem;

    /// The broken fields, when the problem is `validation-failed` and they are known.
    fn validation(&self) -> Option<&crate::validation::ValidationErrors> {
        None
    }
}
