//! The OMS command API (axum): every command route of the contract.
//!
//! Its routes arrive with issue #4; until then `oms serve --role command-api` serves the
//! operational routes only.
