//! Counts of items.

use serde::{Deserialize, Serialize};

use crate::validation::ValueError;

/// How many items of a sku an order line (or a restock) holds: 1..=1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    pub const MIN: u32 = 1;
    pub const MAX: u32 = 1000;

    pub fn new(n: i64) -> Result<Self, ValueError> {
        match u32::try_from(n) {
            Ok(n) if (Self::MIN..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(ValueError::OutOfRange {
                min: Self::MIN.into(),
                max: Self::MAX.into(),
            }),
        }
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for Quantity {
    type Error = ValueError;
    fn try_from(n: i64) -> Result<Self, ValueError> {
        Self::new(n)
    }
}

impl From<Quantity> for u32 {
    fn from(q: Quantity) -> u32 {
        q.0
    }
}

/// A product's initial stock: 0..=1,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u32")]
pub struct StockLevel(u32);

impl StockLevel {
    pub const MAX: u32 = 1_000_000;

    pub fn new(n: i64) -> Result<Self, ValueError> {
        match u32::try_from(n) {
            Ok(n) if n <= Self::MAX => Ok(Self(n)),
            _ => Err(ValueError::OutOfRange {
                min: 0,
                max: Self::MAX.into(),
            }),
        }
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for StockLevel {
    type Error = ValueError;
    fn try_from(n: i64) -> Result<Self, ValueError> {
        Self::new(n)
    }
}

impl From<StockLevel> for u32 {
    fn from(s: StockLevel) -> u32 {
        s.0
    }
}
