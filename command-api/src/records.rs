//! Rows the command side writes in the same transaction as a command's events.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::values::{CustomerId, ShipmentId};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::ApiError;
use crate::AppState;

/// Records older than this are purged; keys are promised for at least 24 hours.
const KEEP_HOURS: i32 = 48;

/// The customer holding `email` (lower-cased), if any.
pub(crate) async fn email_owner(
    state: &AppState,
    email_normalized: &str,
) -> Result<Option<CustomerId>, ApiError> {
    let owner: Option<Uuid> = event_store::once_more_if_broken(|| async {
        let mut lease = state.log.leases().lease().await?;
        let owner = sqlx::query_scalar("SELECT customer_id FROM customer_emails WHERE email = $1")
            .bind(email_normalized)
            .fetch_optional(&mut *lease)
            .await;
        lease.finished(owner)
    })
    .await?;
    Ok(owner.map(CustomerId::from_uuid))
}

/// Claims `email` for `customer` and gives up the customer's other emails. `Ok(false)`:
/// another customer holds it (a concurrent claim waits here until the other commits).
pub(crate) async fn claim_email(
    tx: &mut PgConnection,
    email_normalized: &str,
    customer: CustomerId,
) -> Result<bool, sqlx::Error> {
    sqlx::query("INSERT INTO customer_emails (email, customer_id) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING")
        .bind(email_normalized)
        .bind(customer.as_uuid())
        .execute(&mut *tx)
        .await?;
    let owner: Uuid =
        sqlx::query_scalar("SELECT customer_id FROM customer_emails WHERE email = $1")
            .bind(email_normalized)
            .fetch_one(&mut *tx)
            .await?;
    if owner != customer.as_uuid() {
        return Ok(false);
    }
    sqlx::query("DELETE FROM customer_emails WHERE customer_id = $1 AND email <> $2")
        .bind(customer.as_uuid())
        .bind(email_normalized)
        .execute(&mut *tx)
        .await?;
    Ok(true)
}

/// How an order's fulfilment ended before delivery: it was cancelled, or its shipment left.
/// Only one can happen to an order (`order_fates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Cancelled,
    Dispatched,
}

impl Fate {
    fn as_str(self) -> &'static str {
        match self {
            Self::Cancelled => "CANCELLED",
            Self::Dispatched => "DISPATCHED",
        }
    }

    /// Why the other command is refused once this fate is claimed.
    pub(crate) fn refusal(self) -> &'static str {
        match self {
            Self::Cancelled => "the order was cancelled: its shipment cannot be dispatched",
            Self::Dispatched => "the order's shipment was dispatched: it cannot be cancelled",
        }
    }
}

/// Claims `fate` for the order whose shipment is `shipment`. `Ok(Some(other))`: the other
/// fate was claimed first (a concurrent claim waits here until the other commits or rolls
/// back).
pub(crate) async fn claim_fate(
    tx: &mut PgConnection,
    shipment: ShipmentId,
    fate: Fate,
) -> Result<Option<Fate>, sqlx::Error> {
    let held: String = sqlx::query_scalar(
        "INSERT INTO order_fates (shipment_id, fate) VALUES ($1, $2)
         ON CONFLICT (shipment_id) DO UPDATE SET fate = order_fates.fate
         RETURNING fate",
    )
    .bind(shipment.as_uuid())
    .bind(fate.as_str())
    .fetch_one(&mut *tx)
    .await?;
    Ok(match held.as_str() {
        held if held == fate.as_str() => None,
        "CANCELLED" => Some(Fate::Cancelled),
        _ => Some(Fate::Dispatched),
    })
}

/// An `Idempotency-Key` and the token subject it belongs to: the same key from two
/// subjects is two keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub subject: String,
    pub key: String,
}

/// A stored response, if `key` was used before.
pub(crate) async fn replay(
    state: &AppState,
    key: &IdempotencyKey,
    fingerprint: &Value,
) -> Result<Option<Response>, ApiError> {
    let row: Option<(Value, i16, Value)> = event_store::once_more_if_broken(|| async {
        let mut lease = state.log.leases().lease().await?;
        let row = sqlx::query_as(
            "SELECT request, status, body FROM idempotency_keys
             WHERE subject = $1 AND key = $2 AND created_at > now() - make_interval(hours => $3)",
        )
        .bind(&key.subject)
        .bind(&key.key)
        .bind(KEEP_HOURS)
        .fetch_optional(&mut *lease)
        .await;
        lease.finished(row)
    })
    .await?;
    let Some((request, status, body)) = row else {
        return Ok(None);
    };
    // Records written before bodies were stored by digest hold the body itself.
    if request != stored(fingerprint) && request != *fingerprint {
        return Err(ApiError::IdempotencyKeyReused);
    }
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = command_response(status, &body);
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(Some(response))
}

/// What is stored of a request's fingerprint: its method and path, and the SHA-256 of its
/// body (the body itself may hold what jsonb cannot store, such as `\u0000` in a field no
/// command reads; and a digest keeps large bodies out of the table).
fn stored(fingerprint: &Value) -> Value {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(fingerprint["body"].to_string().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    serde_json::json!({
        "method": fingerprint["method"],
        "path": fingerprint["path"],
        "body_sha256": hex,
    })
}

/// Records the response to `key`. `Ok(false)`: a concurrent request with the same key
/// recorded first (this one must then roll back and answer with that one's response).
pub(crate) async fn record(
    tx: &mut PgConnection,
    key: &IdempotencyKey,
    fingerprint: &Value,
    status: StatusCode,
    body: &Value,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (subject, key, request, status, body)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (subject, key) DO NOTHING",
    )
    .bind(&key.subject)
    .bind(&key.key)
    .bind(stored(fingerprint))
    .bind(i16::try_from(status.as_u16()).unwrap_or(200))
    .bind(body)
    .execute(&mut *tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Deletes records past their keeping time; run now and then, outside requests' transactions.
pub(crate) async fn purge_expired(state: &AppState) {
    let result = sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
    )
    .bind(KEEP_HOURS)
    .execute(state.log.pool())
    .await;
    if let Err(error) = result {
        tracing::debug!(%error, "could not purge expired idempotency keys");
    }
}

/// A command's JSON answer with its `ETag`.
pub(crate) fn command_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Some(version) = body.get("version").and_then(Value::as_i64) {
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
            response.headers_mut().insert(header::ETAG, etag);
        }
    }
    response
}
