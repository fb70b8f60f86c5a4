//! Query limits, checked on the validation's result, before anything is executed; and
//! codes on the errors of parsing and validation.

use async_graphql::{ServerError, ValidationResult};

use crate::errors::{server_error, QUERY_TOO_COMPLEX};

/// The deepest selection nesting served, counting every field on the way down.
pub const MAX_DEPTH: usize = 10;

/// The most complexity served: every field costs 1, and a connection costs its fields
/// times its `first`. `orders(first: 100)` with every field of an order and its lines,
/// customer and shipment stays well under it; a connection nested in a connection of 100
/// does not.
pub const MAX_COMPLEXITY: usize = 5_000;

/// Refuses a validated query over the depth or complexity limit.
pub fn check(result: &ValidationResult) -> Result<(), ServerError> {
    if result.depth > MAX_DEPTH {
        return Err(server_error(
            QUERY_TOO_COMPLEX,
            format!(
                "the query is nested {} levels deep; at most {MAX_DEPTH} are served",
                result.depth
            ),
        ));
    }
    if result.complexity > MAX_COMPLEXITY {
        return Err(server_error(
            QUERY_TOO_COMPLEX,
            format!(
                "the query's complexity is {}; at most {MAX_COMPLEXITY} is served",
                result.complexity
            ),
        ));
    }
    Ok(())
}

/// `error` with `code` in its extensions, unless it has a code already.
pub fn with_code(mut error: ServerError, code: &'static str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}
