//! The OMS domain: aggregates, commands, events and value types.
//!
//! This crate is pure: it does no I/O and depends on no database, HTTP or GraphQL crate.
//! Its aggregates (customer, product, order, shipment) arrive with issue #3.
