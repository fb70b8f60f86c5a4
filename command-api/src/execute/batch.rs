//! Many commands of one aggregate type executed together, for loading data in bulk
//! ([`crate::bulk`]): their aggregates loaded in one statement, each command decided in
//! order on the state the ones before it left (several may go to one aggregate), and every
//! event appended with the commands' records (snapshots, email and fate claims) in one
//! transaction, one statement each.
//!
//! A batch commits whole or not at all. When it cannot commit (another writer appended to
//! one of its aggregates first, or holds an email or an order's fate one of its commands
//! claims), its commands run again one at a time, in order, by the single-command path,
//! which decides each on fresh state and answers it as its route would. The domain's
//! refusal of a command refuses that command alone; the others go on.
//!
//! Unlike a request, a batched command takes no turn (`crate::turns`): a batch holds many
//! aggregates at once, and a lost race only sends it down the single-command path. A
//! batch carries no idempotency key and no `If-Match`.

use std::collections::HashMap;

use cqrs_es::Aggregate;
use domain::values::CustomerId;
use domain::DomainError;
use event_store::{aggregates, AggregateStore, AppendError, Working};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::{Command, Rollback};
use crate::access::Owned;
use crate::error::ApiError;
use crate::records::{self, Accepted};
use crate::request::CommandContext;
use crate::AppState;

/// What became of one command of a batch before the append.
enum Decision {
    Refused(ApiError),
    /// To be answered with the aggregate's `version` after it and the position of the
    /// aggregate's last event: its own last one, or an earlier command's.
    Decided {
        version: i64,
        last: Last,
    },
}

/// Where an aggregate's last event lies: among the batch's events, or where it was loaded.
#[derive(Clone, Copy)]
enum Last {
    Appended(usize),
    Loaded(i64),
}

impl AppState {
    /// Runs `commands` (of one aggregate type, in order) as one batch; answers each, as
    /// its route would. `Err`: the batch failed as a whole (the database), and none of
    /// it was written.
    pub(crate) async fn execute_batch<A>(
        &self,
        ctx: &CommandContext,
        commands: &[Command<'_, A>],
    ) -> Result<Vec<Result<Accepted, ApiError>>, ApiError>
    where
        A: Owned + Serialize + DeserializeOwned,
        A::Command: Clone,
        A::Error: DomainError,
    {
        debug_assert!(ctx.idempotency_key.is_none() && ctx.if_match.is_none());
        let ids = commands
            .iter()
            .filter(|c| !c.records.fresh)
            .map(|c| c.id.clone());
        let mut working = Working::<A>::load(&self.store, ids).await?;
        let mut decisions: Vec<Decision> = Vec::with_capacity(commands.len());
        let mut events = Vec::new();
        // Where each aggregate's last event lies among the batch's.
        let mut last_of: HashMap<&str, usize> = HashMap::new();
        let (mut emails, mut fates) = (Vec::<(String, CustomerId)>::new(), Vec::new());
        for command in commands {
            let loaded = working.loaded(&command.id);
            let loaded_position = loaded.last_position;
            if let Err(refused) = crate::access::check_owner(
                ctx.only_customer,
                &loaded.aggregate,
                &command.command,
                loaded.version > 0,
            ) {
                decisions.push(Decision::Refused(refused));
                continue;
            }
            // Each command is a request of its own: its events correlate with it alone.
            let request = Uuid::new_v4().to_string();
            let metadata = event_store::event::metadata(&request, &request, ctx.caller.actor());
            let first = events.len();
            let outcome = working
                .decide(
                    &command.id,
                    command.command.clone(),
                    command.services,
                    &metadata,
                    &mut events,
                )
                .await
                .map_err(|e| ApiError::Internal(e.into()))?;
            if let Err(refusal) = outcome {
                decisions.push(Decision::Refused(ApiError::domain(&refusal)));
                continue;
            }
            let end = events.len();
            let version = working.loaded(&command.id).version;
            let last = match last_of.get(command.id.as_str()) {
                _ if end > first => Last::Appended(end - 1),
                Some(&at) => Last::Appended(at),
                None => Last::Loaded(loaded_position),
            };
            if end > first {
                last_of.insert(&command.id, end - 1);
            }
            emails.extend(command.records.email_claim.clone());
            fates.extend(command.records.fate);
            decisions.push(Decision::Decided { version, last });
        }
        if events.is_empty() {
            return Ok(answers(commands, decisions, &[]));
        }
        let snapshots = working
            .snapshots(&self.store)
            .map_err(|e| ApiError::Internal(e.into()))?;
        let snapshots = aggregates::placed(snapshots, &events).ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("a snapshot without its event in the batch"))
        })?;
        let outcome = self
            .log
            .append_then(&events, move |tx, appended| {
                Box::pin(async move {
                    let snapshots =
                        aggregates::at_positions(snapshots, appended).ok_or_else(|| {
                            AppendError::Database(sqlx::Error::Protocol(
                                "a snapshot's event is not in the append".into(),
                            ))
                        })?;
                    AggregateStore::save_snapshots(tx, &snapshots).await?;
                    if !fates.is_empty() {
                        if let Some(other) = records::claim_fates(tx, &fates).await? {
                            return Err(Rollback::FateTaken(other));
                        }
                    }
                    if !emails.is_empty() && !records::claim_emails(tx, &emails).await? {
                        return Err(Rollback::EmailTaken);
                    }
                    Ok(())
                })
            })
            .await;
        match outcome {
            Ok((appended, ())) => Ok(answers(commands, decisions, &appended.positions)),
            Err(Rollback::Append(AppendError::Database(error))) => Err(error.into()),
            // A conflict or a claim another command holds: each on its own, as a request.
            Err(_) => {
                let mut one_by_one = Vec::with_capacity(commands.len());
                for command in commands {
                    one_by_one.push(self.run(ctx, command).await);
                }
                Ok(one_by_one)
            }
        }
    }
}

/// Each command's answer: its refusal, or its success with the positions its batch's
/// events got.
fn answers<A: Aggregate>(
    commands: &[Command<'_, A>],
    decisions: Vec<Decision>,
    positions: &[i64],
) -> Vec<Result<Accepted, ApiError>> {
    commands
        .iter()
        .zip(decisions)
        .map(|(command, decision)| match decision {
            Decision::Refused(error) => Err(error),
            Decision::Decided { version, last } => {
                let position = match last {
                    Last::Appended(at) => positions.get(at).copied().unwrap_or_default(),
                    Last::Loaded(position) => position,
                };
                Ok(Accepted {
                    status: command.reply.status,
                    body: command.reply.body(version, position),
                    replayed: false,
                })
            }
        })
        .collect()
}
