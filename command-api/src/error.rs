//! The API's one boundary error: every failure a client can see, as problem+json (RFC 9457).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::validation::{FieldError, ValidationErrors};
use domain::{DomainError, Problem};
use event_store::{AppendError, LoadError};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Malformed(String),
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than 64 KiB")]
    PayloadTooLarge,
    #[error("the request body did not arrive within {0} s")]
    RequestTimeout(u64),
    #[error("{0}")]
    NotFound(String),
    #[error("this route takes POST")]
    MethodNotAllowed,
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("{detail}")]
    Domain { problem: Problem, detail: String },
    #[error("If-Match {expected} does not match the current version {actual}")]
    PreconditionFailed { expected: String, actual: i64 },
    #[error("concurrent writers kept changing this aggregate; try again")]
    ConcurrencyConflict,
    #[error("this Idempotency-Key was used with another request")]
    IdempotencyKeyReused,
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Every problem type of the command API: slug, status, when. The OpenAPI document lists
/// these; `ApiError` produces exactly these.
pub const PROBLEMS: &[(&str, u16, &str)] = &[
    (
        "malformed-request",
        400,
        "the body is not JSON, a field has the wrong JSON type, or a header is malformed",
    ),
    (
        "validation-failed",
        422,
        "a field breaks a rule; `errors` lists every broken field",
    ),
    (
        "unsupported-media-type",
        415,
        "a body that is not application/json",
    ),
    ("payload-too-large", 413, "a body over 64 KiB"),
    (
        "request-timeout",
        408,
        "the body did not arrive in time (a client that stalls mid-request)",
    ),
    (
        "not-found",
        404,
        "the aggregate in the path does not exist, or its id is malformed",
    ),
    ("method-not-allowed", 405, "command routes take POST"),
    (
        "unknown-customer",
        422,
        "the order's customer does not exist",
    ),
    (
        "unknown-address",
        422,
        "the shipping address is not one of the customer's",
    ),
    (
        "unknown-sku",
        422,
        "an order line names a product that does not exist",
    ),
    (
        "currency-mismatch",
        422,
        "order lines in different currencies",
    ),
    (
        "payment-mismatch",
        422,
        "the payment's amount or currency differs from the order total",
    ),
    (
        "invalid-transition",
        409,
        "the command is not allowed in the aggregate's current state",
    ),
    (
        "email-taken",
        409,
        "another customer already has this email (case-insensitive)",
    ),
    ("sku-taken", 409, "a product with this sku exists"),
    (
        "precondition-failed",
        412,
        "If-Match did not match the aggregate's version",
    ),
    (
        "concurrency-conflict",
        409,
        "concurrent writers kept colliding after retries",
    ),
    (
        "idempotency-key-reused",
        422,
        "the Idempotency-Key was used with another request",
    ),
    (
        "service-unavailable",
        503,
        "the database is unreachable; answered within 5 s",
    ),
    (
        "internal-error",
        500,
        "an unexpected failure; the cause is logged, never shown",
    ),
];

impl ApiError {
    /// The mapping table of CONTRACT: slug and status of every error.
    fn slug_and_status(&self) -> (&'static str, StatusCode) {
        match self {
            Self::Malformed(_) => ("malformed-request", StatusCode::BAD_REQUEST),
            Self::UnsupportedMediaType => {
                ("unsupported-media-type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            Self::PayloadTooLarge => ("payload-too-large", StatusCode::PAYLOAD_TOO_LARGE),
            Self::RequestTimeout(_) => ("request-timeout", StatusCode::REQUEST_TIMEOUT),
            Self::NotFound(_) => ("not-found", StatusCode::NOT_FOUND),
            Self::MethodNotAllowed => ("method-not-allowed", StatusCode::METHOD_NOT_ALLOWED),
            Self::Validation(_) => ("validation-failed", StatusCode::UNPROCESSABLE_ENTITY),
            Self::Domain { problem, .. } => (problem.slug(), problem_status(*problem)),
            Self::PreconditionFailed { .. } => {
                ("precondition-failed", StatusCode::PRECONDITION_FAILED)
            }
            Self::ConcurrencyConflict => ("concurrency-conflict", StatusCode::CONFLICT),
            Self::IdempotencyKeyReused => {
                ("idempotency-key-reused", StatusCode::UNPROCESSABLE_ENTITY)
            }
            Self::Unavailable(_) => ("service-unavailable", StatusCode::SERVICE_UNAVAILABLE),
            Self::Internal(_) => ("internal-error", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// A domain rejection, with its field errors when it is a validation failure.
    pub fn domain<E: DomainError>(error: &E) -> Self {
        match (error.problem(), error.validation()) {
            (Problem::ValidationFailed, Some(errors)) => Self::Validation(errors.clone()),
            (Problem::ValidationFailed, None) => {
                Self::Validation(ValidationErrors::one("", error.to_string()))
            }
            (Problem::NotFound, _) => Self::NotFound(error.to_string()),
            (problem, _) => Self::Domain {
                problem,
                detail: error.to_string(),
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        self.slug_and_status().1
    }
}

/// Statuses of the problems the domain decides.
pub const fn problem_status(problem: Problem) -> StatusCode {
    match problem {
        Problem::ValidationFailed
        | Problem::UnknownCustomer
        | Problem::UnknownAddress
        | Problem::UnknownSku
        | Problem::CurrencyMismatch
        | Problem::PaymentMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        Problem::NotFound => StatusCode::NOT_FOUND,
        Problem::InvalidTransition | Problem::EmailTaken | Problem::SkuTaken => {
            StatusCode::CONFLICT
        }
    }
}

fn title(slug: &str) -> String {
    let mut title = slug.replace('-', " ");
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    title
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (slug, status) = self.slug_and_status();
        let detail = match &self {
            Self::Internal(error) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error = format!("{error:#}"), "internal error");
                "an internal error occurred".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({
            "type": format!("/problems/{slug}"),
            "title": title(slug),
            "status": status.as_u16(),
            "detail": detail,
        });
        if let Self::Validation(ValidationErrors(errors)) = &self {
            body["errors"] = json!(errors
                .iter()
                .map(|FieldError { field, message }| json!({"field": field, "message": message}))
                .collect::<Vec<_>>());
        }
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if event_store::is_transient(&error) {
            tracing::warn!(%error, "the database is failing in passing");
            Self::Unavailable("the database is unavailable or did not answer in time".to_owned())
        } else {
            Self::Internal(anyhow::Error::new(error).context("database error"))
        }
    }
}

impl From<LoadError> for ApiError {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Database(error) => error.into(),
            corrupt @ LoadError::Corrupt { .. } => Self::Internal(corrupt.into()),
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict => Self::ConcurrencyConflict,
            AppendError::Database(error) => error.into(),
        }
    }
}
