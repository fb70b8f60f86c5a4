//! The data layer: the read-model rows (declared once, in [`projections::tables`]) and
//! the SQL that reads them. The GraphQL types (`crate::views`) sit on it; nothing here
//! knows of them.
//!
//! - [`access`]: the caller's view: every root read goes through its [`access::Reader`].
//! - [`fetch`]: rows by key, many keys per statement.
//! - [`pages`]: keyset pages and counts.
//! - [`loaders`]: the DataLoader behind the root lookups by id.

pub mod access;
pub mod fetch;
pub mod loaders;
pub mod pages;
