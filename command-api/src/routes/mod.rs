//! One module per resource; each handler extracts, validates into domain values, executes
//! and answers. No SQL here.

pub(crate) mod customers;
pub(crate) mod orders;
pub(crate) mod products;
pub(crate) mod shipments;

use std::str::FromStr;

use crate::error::ApiError;

/// An id from the path: one that is not a UUID names nothing, so it is a 404. A UUID in
/// any of its spellings (upper case, braces, URN) names the aggregate whose id is its
/// canonical (lower-case, hyphenated) form: handlers pass the parsed id on, never the
/// path's text.
pub(crate) fn path_uuid<T: FromStr>(id: &str) -> Result<T, ApiError> {
    T::from_str(id).map_err(|_| ApiError::NotFound(format!("no resource with id {id}")))
}
