//! The schema's one extension: limits after validation, read-your-writes before
//! execution, `extensions.position` on every response. One extension, not one per
//! concern: async-graphql runs every field through each installed extension.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
    NextSubscribe, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};
use event_store::EventLog;
use futures_util::stream::{BoxStream, StreamExt};
use tokio::time::Instant;

use crate::consistency::{wait_for, Executed, MinPosition, MAX_WAIT};
use crate::hub::Hub;
use crate::limits;

/// Installs [`Policies`] on a schema.
#[derive(Debug, Default)]
pub struct Policies;

impl ExtensionFactory for Policies {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Request {
            executed_at: AtomicI64::new(-1),
            introspection: AtomicBool::new(false),
        })
    }
}

/// One request's state.
#[derive(Debug)]
struct Request {
    /// The position reflected when execution began (-1: it did not).
    executed_at: AtomicI64,
    /// The document selects only introspection fields (`limits::introspection_only`).
    introspection: AtomicBool,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Request {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let response = next.run(ctx).await;
        let position = match self.executed_at.load(Ordering::Acquire) {
            -1 => ctx.data_unchecked::<Hub>().reflected().position,
            at => at,
        };
        response.extension("position", Value::from(position))
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| limits::with_code(e, "GRAPHQL_PARSE_FAILED"))?;
        limits::check_database_work(&document)?;
        self.introspection
            .store(limits::introspection_only(&document), Ordering::Release);
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| limits::with_code(e, "GRAPHQL_VALIDATION_FAILED"))
                .collect::<Vec<_>>()
        })?;
        let introspection = self.introspection.load(Ordering::Acquire);
        limits::check(&result, introspection).map_err(|refused| vec![refused])?;
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let hub = ctx.data_unchecked::<Hub>();
        if let Some(MinPosition(min)) = ctx.data_opt::<MinPosition>() {
            let log = ctx.data_unchecked::<EventLog>();
            if let Err(error) = wait_for(hub, log, *min, Instant::now() + MAX_WAIT).await {
                return Response::from_errors(vec![error]);
            }
        }
        self.executed_at
            .store(hub.reflected().position, Ordering::Release);
        if let Some(Executed(started)) = ctx.data_opt::<Executed>() {
            started.store(true, Ordering::Release);
        }
        next.run(ctx, operation_name).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let hub = ctx.data_unchecked::<Hub>().clone();
        next.run(ctx, stream)
            .map(move |response| {
                response.extension("position", Value::from(hub.reflected().position))
            })
            .boxed()
    }
}
