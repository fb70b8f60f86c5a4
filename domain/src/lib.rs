//! The OMS domain: every business rule of the contract, and nothing else.
//!
//! Pure: no I/O, no database, HTTP or GraphQL crate. Facts from outside (does the customer
//! exist, what does a sku cost, who holds an email, what time it is) are passed into
//! commands or reached through the [`Clock`](clock::Clock) the domain declares. Aggregates
//! are cqrs-es [`Aggregate`](cqrs_es::Aggregate)s.
//!
//! # Layout
//!
//! - [`values`]: validated value types (ids, [`Sku`](values::Sku), [`Email`](values::Email),
//!   [`Money`](values::Money), addresses, quantities, short texts).
//! - [`customer`], [`product`], [`order`], [`shipment`]: the aggregates, each with its
//!   commands, events and one error enum.
//! - [`events`]: every event type name and version, in one place, and the upcasters.
//! - [`input`]: requests as clients send them, validated into values with field paths.
//! - [`validation`], [`problem`]: field errors, and the contract problem of each error.
//! - [`clock`]: time as a fact.

pub mod clock;
pub mod customer;
pub mod events;
pub mod input;
pub mod order;
pub mod problem;
pub mod product;
pub mod shipment;
pub mod validation;
pub mod values;

pub use customer::{Customer, CustomerCommand, CustomerError, CustomerEvent};
pub use order::{Order, OrderCommand, OrderError, OrderEvent, OrderStatus};
pub use problem::{DomainError, Problem};
pub use product::{Product, ProductCommand, ProductError, ProductEvent};
pub use shipment::{Shipment, ShipmentCommand, ShipmentError, ShipmentEvent, ShipmentStatus};
