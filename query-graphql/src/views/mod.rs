//! The GraphQL types of CONTRACT, each over its read-model rows.

pub mod common;
pub mod connections;
pub mod customer;
pub mod order;
pub mod product;
pub mod projection;
pub mod shipment;
