//! Extracting a command request: body limits, media type, JSON, and the command headers.
//! Every rejection is one of our problems, never axum's plain-text default.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use uuid::Uuid;

use auth::Caller;
use domain::values::CustomerId;

use crate::access::Authorized;
use crate::error::ApiError;
use crate::records::IdempotencyKey;
use crate::AppState;

/// The largest body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// How long a client may take to send the body once its headers are in: a client that
/// stalls mid-body gets `408`, well within the command deadline.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// What every command carries besides its body.
#[derive(Debug, Clone)]
pub struct CommandContext {
    /// Who sends it.
    pub caller: Caller,
    /// The customer whose aggregates alone it may touch (a customer's command); `None`:
    /// any (see [`crate::access`]).
    pub only_customer: Option<CustomerId>,
    /// `Idempotency-Key` (1..=200 visible ASCII characters), under the caller's subject.
    pub idempotency_key: Option<IdempotencyKey>,
    /// `If-Match: "<version>"`.
    pub if_match: Option<IfMatch>,
    /// Method, path and body: a repeat with the same key must match this exactly.
    pub fingerprint: Value,
    /// Correlates every event this request causes: the request's [`RequestId`], else new.
    pub request_id: String,
}

/// The id of the HTTP request, set by the server in front (from `X-Request-Id`); the
/// events a command causes carry it as their `correlation_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The version a client expects, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch {
    pub raw: String,
    pub version: Option<i64>,
}

/// A JSON command body of type `T` and its context.
#[derive(Debug)]
pub struct CommandRequest<T> {
    pub input: T,
    pub context: CommandContext,
}

/// Why a command request does not reach its handler: it is refused, or it repeats an
/// `Idempotency-Key` whose stored response is the answer.
#[derive(Debug)]
pub enum CommandRejection {
    Refused(ApiError),
    Replayed(Response),
}

impl From<ApiError> for CommandRejection {
    fn from(error: ApiError) -> Self {
        Self::Refused(error)
    }
}

impl IntoResponse for CommandRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Refused(error) => error.into_response(),
            Self::Replayed(response) => response,
        }
    }
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CommandRequest<T> {
    type Rejection = CommandRejection;

    /// Reads the request, then answers a repeated `Idempotency-Key` from its record before
    /// the handler validates anything (a repeat must get the first answer).
    async fn from_request(request: Request, state: &AppState) -> Result<Self, CommandRejection> {
        let request = Self::read(request).await?;
        match state.replay(&request.context).await? {
            Some(replayed) => Err(CommandRejection::Replayed(replayed.into_response())),
            None => Ok(request),
        }
    }
}

impl<T: DeserializeOwned> CommandRequest<T> {
    async fn read(request: Request) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        // Every command route is behind `access::authorize`; a request without its
        // admission is refused rather than run unchecked.
        let Authorized {
            caller,
            only_customer,
        } = parts
            .extensions
            .remove::<Authorized>()
            .ok_or_else(|| ApiError::Forbidden("the request was not authorized".into()))?;
        let headers = &parts.headers;
        let idempotency_key = idempotency_key(headers)?.map(|key| IdempotencyKey {
            subject: caller.subject().to_owned(),
            key,
        });
        let if_match = headers.get(header::IF_MATCH).map(|value| {
            let raw = value.to_str().unwrap_or_default().trim().to_owned();
            let version = raw.trim_start_matches("W/").trim_matches('"').parse().ok();
            IfMatch { raw, version }
        });
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY) {
            return Err(ApiError::PayloadTooLarge);
        }
        // Even an empty body must be declared JSON: a browser's cross-site form post (which
        // can send no other media type without CORS) never runs a command.
        if !is_json(headers) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY))
            .await
            .map_err(|_| ApiError::RequestTimeout(BODY_TIMEOUT.as_secs()))?
            .map_err(|_| ApiError::PayloadTooLarge)?;
        // An empty body stands for `{}` (e.g. `POST /shipments/{id}/deliver`).
        let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::Malformed(format!("the body is not valid JSON: {e}")))?
        };
        let input = T::deserialize(&value)
            .map_err(|e| ApiError::Malformed(format!("the body does not fit this command: {e}")))?;
        let fingerprint = json!({ "method": method_name(&parts.method), "path": parts.uri.path(), "body": value });
        Ok(Self {
            input,
            context: CommandContext {
                caller,
                only_customer,
                idempotency_key,
                if_match,
                fingerprint,
                request_id: parts
                    .extensions
                    .get::<RequestId>()
                    .map_or_else(|| Uuid::new_v4().to_string(), |id| id.0.clone()),
            },
        })
    }
}

fn method_name(method: &Method) -> &str {
    method.as_str()
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The longest `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default();
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY
        || !key.bytes().all(|b| (0x21..=0x7e).contains(&b))
    {
        return Err(ApiError::Malformed(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )));
    }
    Ok(Some(key.to_owned()))
}

/// The id in a route's path, as text; a failure to read it is a 404 like an unknown id.
#[derive(Debug)]
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|_| ApiError::NotFound("no such resource".into()))
    }
}
