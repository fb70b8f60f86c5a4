//! Query limits, enforced after validation and before anything is executed, and codes on
//! the errors of parsing and validation.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

use crate::errors::{server_error, QUERY_TOO_COMPLEX};

/// The deepest selection nesting served.
pub const MAX_DEPTH: usize = 10;

/// The most complexity served: every field costs 1, and a connection costs its fields
/// times its `first`. `orders(first: 100)` with every field of an order and its lines,
/// customer and shipment stays well under it; a connection nested in a connection of 100
/// does not.
pub const MAX_COMPLEXITY: usize = 5_000;

/// Installs [`Limits`] on a schema.
#[derive(Debug, Default)]
pub struct QueryLimits;

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Limits)
    }
}

#[derive(Debug)]
struct Limits;

fn with_code(mut error: ServerError, code: &'static str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for Limits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, "GRAPHQL_PARSE_FAILED"))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| with_code(e, "GRAPHQL_VALIDATION_FAILED"))
                .collect::<Vec<_>>()
        })?;
        if result.depth > MAX_DEPTH {
            return Err(vec![server_error(
                QUERY_TOO_COMPLEX,
                format!(
                    "the query is nested {} levels deep; at most {MAX_DEPTH} are served",
                    result.depth
                ),
            )]);
        }
        if result.complexity > MAX_COMPLEXITY {
            return Err(vec![server_error(
                QUERY_TOO_COMPLEX,
                format!(
                    "the query's complexity is {}; at most {MAX_COMPLEXITY} is served",
                    result.complexity
                ),
            )]);
        }
        Ok(result)
    }
}
