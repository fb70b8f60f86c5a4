//! Executing a command: take the aggregate's turn in this process (`crate::turns`), load
//! the aggregate (its latest snapshot and the events after it, upcast), check `If-Match`,
//! decide, and append its events together with the command's
//! records (and a snapshot, when one is due) in one transaction; on an optimistic-lock
//! conflict, reload and decide again, a bounded number of times.
//!
//! Many commands of one aggregate type can also run as one batch ([`batch`]): loaded,
//! decided and appended together, for loading data in bulk.
//!
//! Why not `CqrsFramework::execute`: it returns neither the new version nor the events'
//! positions (both are in every response), and it cannot put an idempotency record or an
//! email claim into the events' transaction (docs/adr/0006).

mod batch;

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use domain::values::{CustomerId, ShipmentId};
use domain::DomainError;
use event_store::aggregates;
use event_store::{AggregateStore, AppendError, Loaded};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::access::Owned;
use crate::error::ApiError;
use crate::records::{self, Accepted, Fate};
use crate::request::CommandContext;
use crate::AppState;

/// How often a command is decided again after losing an optimistic-lock race.
const MAX_ATTEMPTS: u32 = 12;

/// What every successful command answers (`address_id` and `status` on some routes), for
/// the OpenAPI document: [`Reply::body`] writes it.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct CommandResponse {
    /// The aggregate's id: a UUID, or the sku for products.
    id: String,
    /// The aggregate's version (event sequence) after the command.
    version: i64,
    /// The global log position of the command's last event; pass it to GraphQL as
    /// `OMS-Min-Position` to read your own write.
    position: i64,
    /// `POST /customers/{id}/addresses` only.
    address_id: Option<String>,
    /// Order and shipment routes: the status after the command.
    status: Option<String>,
}

/// One command to execute: the aggregate it goes to, what it says, what its success
/// answers, and what it records besides its events.
pub(crate) struct Command<'s, A: Aggregate> {
    id: String,
    command: A::Command,
    services: &'s A::Services,
    reply: Reply,
    records: Records,
}

impl<'s, A: Aggregate> Command<'s, A> {
    /// `command` for the aggregate `id`; its success answers 200.
    pub(crate) fn new(id: &impl ToString, command: A::Command, services: &'s A::Services) -> Self {
        Self {
            id: id.to_string(),
            command,
            services,
            reply: Reply::ok(id),
            records: Records::default(),
        }
    }

    /// `command` creating the aggregate `id`, generated for this request: there is nothing
    /// to load first (a conflict, impossible in practice, still reloads); answers 201.
    pub(crate) fn creating(
        id: &impl ToString,
        command: A::Command,
        services: &'s A::Services,
    ) -> Self {
        let mut created = Self::new(id, command, services).answering_created();
        created.records.fresh = true;
        created
    }

    /// Its success answers 201 Created.
    pub(crate) fn answering_created(mut self) -> Self {
        self.reply.status = StatusCode::CREATED;
        self
    }

    /// Its success answers `key: value` besides `id`, `version` and `position`.
    pub(crate) fn answering(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.reply.extra.insert(key.to_owned(), value.into());
        self
    }

    /// Claims this (lower-cased) email for `customer` with the events.
    pub(crate) fn claiming_email(mut self, email: &str, customer: CustomerId) -> Self {
        self.records.email_claim = Some((email.to_owned(), customer));
        self
    }

    /// Claims this end for the order of `shipment` with the events.
    pub(crate) fn claiming_fate(mut self, shipment: ShipmentId, fate: Fate) -> Self {
        self.records.fate = Some((shipment, fate));
        self
    }
}

/// What a successful command answers, besides `version` and `position`.
#[derive(Debug, Clone)]
struct Reply {
    status: StatusCode,
    id: String,
    extra: Map<String, Value>,
}

impl Reply {
    fn ok(id: &impl ToString) -> Self {
        Self {
            status: StatusCode::OK,
            id: id.to_string(),
            extra: Map::new(),
        }
    }

    fn body(&self, version: i64, position: i64) -> Value {
        let mut body = Map::new();
        body.insert("id".into(), json!(self.id));
        body.insert("version".into(), json!(version));
        body.insert("position".into(), json!(position));
        body.extend(self.extra.clone());
        Value::Object(body)
    }
}

/// Rows written in the command's transaction, besides the idempotency record.
#[derive(Debug, Clone, Default)]
struct Records {
    /// Claim this (lower-cased) email for this customer.
    email_claim: Option<(String, CustomerId)>,
    /// Claim this end for the order of this shipment: cancelled, or dispatched.
    fate: Option<(ShipmentId, Fate)>,
    /// The aggregate id was generated for this request: no events can exist yet, so the
    /// first attempt skips loading.
    fresh: bool,
}

/// Why the append transaction was rolled back.
#[derive(Debug)]
enum Rollback {
    Append(AppendError),
    EmailTaken,
    /// The order met the other end first.
    FateTaken(Fate),
    KeyRecordedConcurrently,
}

impl From<AppendError> for Rollback {
    fn from(error: AppendError) -> Self {
        Self::Append(error)
    }
}

impl From<sqlx::Error> for Rollback {
    fn from(error: sqlx::Error) -> Self {
        Self::Append(AppendError::Database(error))
    }
}

impl AppState {
    /// The aggregate `id` of type `A`: its latest snapshot and the events after it.
    pub(crate) async fn load<A>(&self, id: &str) -> Result<Loaded<A>, ApiError>
    where
        A: Aggregate + DeserializeOwned,
    {
        Ok(self.store.load::<A>(id).await?)
    }

    /// Several aggregates of type `A` in one round trip; those without events are absent.
    pub(crate) async fn load_many<A>(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Loaded<A>>, ApiError>
    where
        A: Aggregate + DeserializeOwned,
    {
        Ok(self.store.load_many::<A>(ids).await?)
    }

    /// The stored answer to a repeated request, if `ctx` has a key used before.
    pub(crate) async fn replay(&self, ctx: &CommandContext) -> Result<Option<Accepted>, ApiError> {
        match &ctx.idempotency_key {
            Some(key) => records::replay(self, key, &ctx.fingerprint).await,
            None => Ok(None),
        }
    }

    /// Runs `command` and answers.
    pub(crate) async fn execute<A>(
        &self,
        ctx: &CommandContext,
        command: Command<'_, A>,
    ) -> Result<Response, ApiError>
    where
        A: Owned + Serialize + DeserializeOwned,
        A::Command: Clone,
        A::Error: DomainError,
    {
        self.run(ctx, &command)
            .await
            .map(IntoResponse::into_response)
    }

    /// Runs `command`.
    ///
    /// A keyed request that is refused checks once more for its key: a concurrent twin of it
    /// (the same key and body) may have completed meanwhile (and taken the email, or the
    /// next version), and then its response is the answer.
    pub(crate) async fn run<A>(
        &self,
        ctx: &CommandContext,
        command: &Command<'_, A>,
    ) -> Result<Accepted, ApiError>
    where
        A: Owned + Serialize + DeserializeOwned,
        A::Command: Clone,
        A::Error: DomainError,
    {
        match self.decide_and_append(ctx, command).await {
            Err(error) if ctx.idempotency_key.is_some() && error.status().is_client_error() => {
                Ok(self.replay(ctx).await?.ok_or(error)?)
            }
            result => result,
        }
    }

    async fn decide_and_append<A>(
        &self,
        ctx: &CommandContext,
        command: &Command<'_, A>,
    ) -> Result<Accepted, ApiError>
    where
        A: Owned + Serialize + DeserializeOwned,
        A::Command: Clone,
        A::Error: DomainError,
    {
        let Command {
            id,
            command,
            services,
            reply,
            records,
        } = command;
        // Held until the events are committed (or the command gives up): see `turns`.
        let _turn = self.turns.take(A::TYPE, id).await;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                // The request may have been completed by a concurrent retry of itself.
                if let Some(response) = self.replay(ctx).await? {
                    return Ok(response);
                }
                let backoff = fastrand::u64(1..=(2 * u64::from(attempt)).min(20));
                tokio::time::sleep(Duration::from_millis(backoff)).await;
            }
            let Loaded {
                mut aggregate,
                version,
                last_position,
            } = if attempt == 0 && records.fresh {
                Loaded::default()
            } else {
                self.load::<A>(id).await?
            };
            crate::access::check_owner(ctx.only_customer, &aggregate, command, version > 0)?;
            if let Some(expected) = &ctx.if_match {
                if version > 0 && expected.version != Some(version) {
                    return Err(ApiError::PreconditionFailed {
                        expected: expected.raw.clone(),
                        actual: version,
                    });
                }
            }
            let sink = EventSink::default();
            aggregate
                .handle(command.clone(), *services, &sink)
                .await
                .map_err(|e| ApiError::domain(&e))?;
            let request = &ctx.request_id;
            let metadata = event_store::event::metadata(request, request, ctx.caller.actor());
            let events = aggregates::serialize::<A>(id, version, sink.collect().await, &metadata)
                .map_err(|e| ApiError::Internal(e.into()))?;
            let new_version = version + i64::try_from(events.len()).unwrap_or(i64::MAX);
            let snapshot = self
                .store
                .snapshot(id, &aggregate, version, new_version)
                .map_err(|e| ApiError::Internal(e.into()))?;

            let (key, fingerprint, tx_reply, tx_records) = (
                ctx.idempotency_key.clone(),
                ctx.fingerprint.clone(),
                reply.clone(),
                records.clone(),
            );
            let outcome = self
                .log
                .append_then(&events, move |tx, appended| {
                    Box::pin(async move {
                        let position = appended.positions.last().copied().unwrap_or(last_position);
                        let body = tx_reply.body(new_version, position);
                        if let Some(snapshot) = snapshot {
                            AggregateStore::save_snapshots(tx, &[(snapshot, position)]).await?;
                        }
                        if let Some(claim) = tx_records.fate {
                            if let Some(other) = records::claim_fates(tx, &[claim]).await? {
                                return Err(Rollback::FateTaken(other));
                            }
                        }
                        if let Some(claim) = tx_records.email_claim {
                            if !records::claim_emails(tx, &[claim]).await? {
                                return Err(Rollback::EmailTaken);
                            }
                        }
                        if let Some(key) = &key {
                            if !records::record(tx, key, &fingerprint, tx_reply.status, &body)
                                .await?
                            {
                                return Err(Rollback::KeyRecordedConcurrently);
                            }
                        }
                        Ok(body)
                    })
                })
                .await;
            match outcome {
                Ok((_, body)) => {
                    if ctx.idempotency_key.is_some() && fastrand::u8(..) == 0 {
                        records::purge_expired(self).await;
                    }
                    return Ok(Accepted {
                        status: reply.status,
                        body,
                        replayed: false,
                    });
                }
                Err(Rollback::Append(AppendError::Conflict)) => {}
                Err(Rollback::Append(error)) => return Err(error.into()),
                Err(Rollback::EmailTaken) => {
                    let email = records
                        .email_claim
                        .as_ref()
                        .map(|(email, _)| email.as_str())
                        .unwrap_or_default();
                    return Err(ApiError::Domain {
                        problem: domain::Problem::EmailTaken,
                        detail: format!("another customer already has the email {email}"),
                    });
                }
                Err(Rollback::FateTaken(other)) => {
                    return Err(ApiError::Domain {
                        problem: domain::Problem::InvalidTransition,
                        detail: other.refusal().to_owned(),
                    });
                }
                Err(Rollback::KeyRecordedConcurrently) => {
                    return self.replay(ctx).await?.ok_or(ApiError::ConcurrencyConflict);
                }
            }
        }
        Err(ApiError::ConcurrencyConflict)
    }
}
