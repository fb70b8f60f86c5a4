//! Rows the command side writes in the same transaction as a command's events.

use std::collections::{BTreeMap, HashMap};

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
    let mut owners = email_owners(state, &[email_normalized]).await?;
    Ok(owners.remove(email_normalized))
}

/// The customers holding any of `emails` (lower-cased), by email, in one statement.
pub(crate) async fn email_owners(
    state: &AppState,
    emails_normalized: &[&str],
) -> Result<HashMap<String, CustomerId>, ApiError> {
    let owners: Vec<(String, Uuid)> = event_store::once_more_if_broken(|| async {
        let mut lease = state.log.leases().lease().await?;
        let owners = sqlx::query_as(
            "SELECT email, customer_id FROM customer_emails WHERE email = ANY($1::text[])",
        )
        .bind(emails_normalized)
        .fetch_all(&mut *lease)
        .await;
        lease.finished(owners)
    })
    .await?;
    Ok(owners
        .into_iter()
        .map(|(email, owner)| (email, CustomerId::from_uuid(owner)))
        .collect())
}

/// Claims each email (lower-cased) for its customer and gives up each customer's other
/// emails, for the commands of one transaction; a customer named twice keeps the email it
/// claims last. `Ok(false)`: another customer holds one of them (a concurrent claim
/// waits here until the other commits), and the caller rolls back.
pub(crate) async fn claim_emails(
    tx: &mut PgConnection,
    claims: &[(String, CustomerId)],
) -> Result<bool, sqlx::Error> {
    // Each customer's last claim (a later one replaces an earlier), in the order of the
    // emails, so that concurrent claims take their rows in one order.
    let last: HashMap<Uuid, &str> = claims
        .iter()
        .map(|(email, customer)| (customer.as_uuid(), email.as_str()))
        .collect();
    let mut last: Vec<(&str, Uuid)> = last.into_iter().map(|(c, e)| (e, c)).collect();
    last.sort_unstable();
    let (emails, customers): (Vec<&str>, Vec<Uuid>) = last.into_iter().unzip();
    sqlx::query(
        "INSERT INTO customer_emails (email, customer_id)
         SELECT * FROM UNNEST($1::text[], $2::uuid[])
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(&emails)
    .bind(&customers)
    .execute(&mut *tx)
    .await?;
    let held_by_others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM customer_emails c
         JOIN UNNEST($1::text[], $2::uuid[]) AS claim(email, customer_id) USING (email)
         WHERE c.customer_id <> claim.customer_id",
    )
    .bind(&emails)
    .bind(&customers)
    .fetch_one(&mut *tx)
    .await?;
    if held_by_others > 0 {
        return Ok(false);
    }
    sqlx::query(
        "DELETE FROM customer_emails c
         USING UNNEST($1::text[], $2::uuid[]) AS claim(email, customer_id)
         WHERE c.customer_id = claim.customer_id AND c.email <> claim.email",
    )
    .bind(&emails)
    .bind(&customers)
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

    /// The fate stored as `held` (`order_fates.fate` holds only these two).
    fn stored(held: &str) -> Self {
        if held == Self::Cancelled.as_str() {
            Self::Cancelled
        } else {
            Self::Dispatched
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

/// Claims each fate for the order whose shipment it names, for the commands of one
/// transaction. `Ok(Some(other))`: the other fate was claimed first for one of them (a
/// concurrent claim waits here until the other commits or rolls back), and the caller
/// rolls back.
pub(crate) async fn claim_fates(
    tx: &mut PgConnection,
    claims: &[(ShipmentId, Fate)],
) -> Result<Option<Fate>, sqlx::Error> {
    // One statement cannot claim a row twice: the same fate again is no news, and the
    // other fate for one order within the same claims is refused before asking. In the
    // order of the shipments, so that concurrent claims take their rows in one order.
    let mut claimed: BTreeMap<Uuid, Fate> = BTreeMap::new();
    for &(shipment, fate) in claims {
        match claimed.insert(shipment.as_uuid(), fate) {
            Some(earlier) if earlier != fate => return Ok(Some(earlier)),
            _ => {}
        }
    }
    let (shipments, fates): (Vec<Uuid>, Vec<&str>) = claimed
        .iter()
        .map(|(shipment, fate)| (*shipment, fate.as_str()))
        .unzip();
    let held: Vec<(Uuid, String)> = sqlx::query_as(
        "INSERT INTO order_fates (shipment_id, fate)
         SELECT * FROM UNNEST($1::uuid[], $2::text[])
         ON CONFLICT (shipment_id) DO UPDATE SET fate = order_fates.fate
         RETURNING shipment_id, fate",
    )
    .bind(&shipments)
    .bind(&fates)
    .fetch_all(&mut *tx)
    .await?;
    Ok(held.iter().find_map(|(shipment, held)| {
        let held = Fate::stored(held);
        (claimed.get(shipment) != Some(&held)).then_some(held)
    }))
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
) -> Result<Option<Accepted>, ApiError> {
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
    Ok(Some(Accepted {
        status,
        body,
        replayed: true,
    }))
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

/// A command's success: its status and JSON body, until it becomes a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub status: StatusCode,
    /// `{id, version, position}` and the route's extra fields.
    pub body: Value,
    /// Answered from the idempotency record of an earlier request with the same key.
    pub replayed: bool,
}

impl Accepted {
    /// The answer's string field `key` (`id`, `address_id`), as a client reads it.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }
}

impl IntoResponse for Accepted {
    /// The JSON answer with its `ETag` (and `Idempotent-Replayed` for a replay).
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body.to_string(),
        )
            .into_response();
        if let Some(version) = self.body.get("version").and_then(Value::as_i64) {
            if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
                response.headers_mut().insert(header::ETAG, etag);
            }
        }
        if self.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}
