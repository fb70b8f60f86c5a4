//! The read models, one module each. Each folds a batch in memory over the rows it touches
//! (one read per table) and writes them back with one `UNNEST` statement per table.

pub mod customers;
pub mod orders;
pub mod products;
pub mod shipments;
mod write;
