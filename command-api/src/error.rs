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
    Unauthorized(auth::Unauthenticated),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// A problem type of CONTRACT: `type` is `/problems/<slug>`; its status; when it is
/// answered. The OpenAPI document is written from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub slug: &'static str,
    pub status: u16,
    pub when: &'static str,
}

const fn problem(slug: &'static str, status: u16, when: &'static str) -> ProblemType {
    ProblemType { slug, status, when }
}

pub const MALFORMED_REQUEST: ProblemType = problem(
    "malformed-request",
    400,
    "the body is not JSON, a field has the wrong JSON type, or a header is malformed",
);
pub const VALIDATION_FAILED: ProblemType = problem(
    "validation-failed",
    422,
    "a field breaks a rule; `errors` lists every broken field",
);
pub const UNSUPPORTED_MEDIA_TYPE: ProblemType = problem(
    "unsupported-media-type",
    415,
    "a body that is not application/json",
);
pub const PAYLOAD_TOO_LARGE: ProblemType = problem("payload-too-large", 413, "a body over 64 KiB");
pub const REQUEST_TIMEOUT: ProblemType = problem(
    "request-timeout",
    408,
    "the body did not arrive in time (a client that stalls mid-request)",
);
pub const NOT_FOUND: ProblemType = problem(
    "not-found",
    404,
    "the aggregate in the path does not exist, or its id is malformed",
);
pub const METHOD_NOT_ALLOWED: ProblemType =
    problem("method-not-allowed", 405, "command routes take POST");
pub const UNKNOWN_CUSTOMER: ProblemType = problem(
    "unknown-customer",
    422,
    "the order's customer does not exist",
);
pub const UNKNOWN_ADDRESS: ProblemType = problem(
    "unknown-address",
    422,
    "the shipping address is not one of the customer's",
);
pub const UNKNOWN_SKU: ProblemType = problem(
    "unknown-sku",
    422,
    "an order line names a product that does not exist",
);
pub const CURRENCY_MISMATCH: ProblemType = problem(
    "currency-mismatch",
    422,
    "order lines in different currencies",
);
pub const PAYMENT_MISMATCH: ProblemType = problem(
    "payment-mismatch",
    422,
    "the payment's amount or currency differs from the order total",
);
pub const INVALID_TRANSITION: ProblemType = problem(
    "invalid-transition",
    409,
    "the command is not allowed in the aggregate's current state",
);
pub const EMAIL_TAKEN: ProblemType = problem(
    "email-taken",
    409,
    "another customer already has this email (case-insensitive)",
);
pub const SKU_TAKEN: ProblemType = problem("sku-taken", 409, "a product with this sku exists");
pub const PRECONDITION_FAILED: ProblemType = problem(
    "precondition-failed",
    412,
    "If-Match did not match the aggregate's version",
);
pub const CONCURRENCY_CONFLICT: ProblemType = problem(
    "concurrency-conflict",
    409,
    "concurrent writers kept colliding after retries",
);
pub const IDEMPOTENCY_KEY_REUSED: ProblemType = problem(
    "idempotency-key-reused",
    422,
    "the Idempotency-Key was used with another request",
);
pub const UNAUTHORIZED: ProblemType = problem(
    "unauthorized",
    401,
    "authentication is on and the bearer token is missing or invalid",
);
pub const FORBIDDEN: ProblemType = problem(
    "forbidden",
    403,
    "the token's roles or customer do not allow this command",
);
pub const SERVICE_UNAVAILABLE: ProblemType = problem(
    "service-unavailable",
    503,
    "the database is unreachable; answered within 5 s",
);
pub const INTERNAL_ERROR: ProblemType = problem(
    "internal-error",
    500,
    "an unexpected failure; the cause is logged, never shown",
);

/// Every problem type of the command API, as the OpenAPI document lists them.
pub const PROBLEMS: &[ProblemType] = &[
    MALFORMED_REQUEST,
    VALIDATION_FAILED,
    UNSUPPORTED_MEDIA_TYPE,
    PAYLOAD_TOO_LARGE,
    REQUEST_TIMEOUT,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    UNKNOWN_CUSTOMER,
    UNKNOWN_ADDRESS,
    UNKNOWN_SKU,
    CURRENCY_MISMATCH,
    PAYMENT_MISMATCH,
    INVALID_TRANSITION,
    EMAIL_TAKEN,
    SKU_TAKEN,
    PRECONDITION_FAILED,
    CONCURRENCY_CONFLICT,
    IDEMPOTENCY_KEY_REUSED,
    UNAUTHORIZED,
    FORBIDDEN,
    SERVICE_UNAVAILABLE,
    INTERNAL_ERROR,
];

/// The problems any command can meet, whatever its route.
pub const EVERY_COMMAND: &[ProblemType] = &[
    MALFORMED_REQUEST,
    VALIDATION_FAILED,
    UNSUPPORTED_MEDIA_TYPE,
    PAYLOAD_TOO_LARGE,
    PRECONDITION_FAILED,
    CONCURRENCY_CONFLICT,
    IDEMPOTENCY_KEY_REUSED,
    UNAUTHORIZED,
    FORBIDDEN,
    SERVICE_UNAVAILABLE,
];

impl ProblemType {
    /// The problem type a domain rejection is (by the domain's slug).
    pub fn of(problem: Problem) -> Self {
        PROBLEMS
            .iter()
            .find(|p| p.slug == problem.slug())
            .copied()
            .unwrap_or(INTERNAL_ERROR)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// `Validation failed` for `validation-failed`.
    pub fn title(&self) -> String {
        let mut title = self.slug.replace('-', " ");
        if let Some(first) = title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        title
    }
}

/// The body of every error, an RFC 9457 problem (for the OpenAPI document). `type` is
/// `/problems/<slug>`; see the description for every slug.
#[derive(Debug, utoipa::ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
pub(crate) struct ProblemBody {
    #[schema(rename = "type", example = "/problems/validation-failed")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    /// `validation-failed` only: every broken field.
    errors: Option<Vec<FieldProblem>>,
}

#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FieldProblem {
    /// The field's path in the request, such as `lines[2].quantity`.
    field: String,
    message: String,
}

impl ApiError {
    /// The problem type of CONTRACT this error is.
    pub fn problem(&self) -> ProblemType {
        match self {
            Self::Malformed(_) => MALFORMED_REQUEST,
            Self::UnsupportedMediaType => UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => REQUEST_TIMEOUT,
            Self::NotFound(_) => NOT_FOUND,
            Self::MethodNotAllowed => METHOD_NOT_ALLOWED,
            Self::Validation(_) => VALIDATION_FAILED,
            Self::Domain { problem, .. } => ProblemType::of(*problem),
            Self::PreconditionFailed { .. } => PRECONDITION_FAILED,
            Self::ConcurrencyConflict => CONCURRENCY_CONFLICT,
            Self::IdempotencyKeyReused => IDEMPOTENCY_KEY_REUSED,
            Self::Unauthorized(_) => UNAUTHORIZED,
            Self::Forbidden(_) => FORBIDDEN,
            Self::Unavailable(_) => SERVICE_UNAVAILABLE,
            Self::Internal(_) => INTERNAL_ERROR,
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
        self.problem().status()
    }
}

/// Set on every refusal's response: the problem's slug (what metrics count it as).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let detail = match &self {
            Self::Internal(error) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error = format!("{error:#}"), "internal error");
                "an internal error occurred".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({
            "type": format!("/problems/{}", problem.slug),
            "title": problem.title(),
            "status": problem.status,
            "detail": detail,
        });
        if let Self::Validation(ValidationErrors(errors)) = &self {
            body["errors"] = json!(errors
                .iter()
                .map(|FieldError { field, message }| json!({"field": field, "message": message}))
                .collect::<Vec<_>>());
        }
        let mut response = (
            problem.status(),
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        response.extensions_mut().insert(Refused(problem.slug));
        if let Self::Unauthorized(refusal) = &self {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, refusal.challenge());
        }
        response
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_problem_has_its_problem_type() {
        for problem in Problem::ALL {
            assert_eq!(ProblemType::of(problem).slug, problem.slug());
        }
    }

    #[test]
    fn slugs_are_unique() {
        let mut slugs: Vec<&str> = PROBLEMS.iter().map(|p| p.slug).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), PROBLEMS.len());
    }
}
