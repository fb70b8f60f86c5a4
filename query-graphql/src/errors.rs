//! GraphQL errors with the codes of CONTRACT, in `extensions.code`.

use async_graphql::{Error, ErrorExtensions};

/// An argument a client sent is wrong: `first` out of range, an id that is not a UUID, a
/// cursor this service did not hand out.
pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
/// Deeper than the depth limit or above the complexity limit; refused before execution.
pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
/// `OMS-Min-Position` was not reached in time.
pub const CONSISTENCY_TIMEOUT: &str = "CONSISTENCY_TIMEOUT";
/// The request has no valid bearer token (authentication on).
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
/// The caller may not read this field; it resolves to `null`.
pub const FORBIDDEN: &str = "FORBIDDEN";
/// The database did not answer in time.
pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
/// Anything else: the cause is logged, never shown.
pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";

/// An error with `code` in its extensions.
pub fn coded(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, extensions| extensions.set("code", code))
}

pub fn bad_user_input(message: impl Into<String>) -> Error {
    coded(BAD_USER_INPUT, message)
}

pub fn forbidden(message: impl Into<String>) -> Error {
    coded(FORBIDDEN, message)
}

/// A database failure as clients see it: unavailable when it passes by itself
/// (`event_store::transient`), otherwise an opaque internal error whose cause goes to the log.
pub fn database(error: &sqlx::Error) -> Error {
    if event_store::is_transient(error) {
        tracing::warn!(%error, "the database is failing in passing");
        return coded(
            SERVICE_UNAVAILABLE,
            "the database is unavailable or did not answer in time; try again shortly",
        );
    }
    tracing::error!(%error, "GraphQL query failed");
    coded(INTERNAL_SERVER_ERROR, "internal error")
}

/// The read model holds something it never should: logged, opaque to clients.
pub fn unexpected(what: &str) -> Error {
    tracing::error!(what, "unexpected read-model content");
    coded(INTERNAL_SERVER_ERROR, "internal error")
}

/// A request-level error (no field, no location) with `code`.
pub fn server_error(code: &'static str, message: impl Into<String>) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// [`database`] as a request-level error.
pub fn database_server_error(error: &sqlx::Error) -> async_graphql::ServerError {
    let error = database(error);
    let mut server = async_graphql::ServerError::new(error.message, None);
    server.extensions = error.extensions;
    server
}
