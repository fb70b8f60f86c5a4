//! Value types: validated on construction (and when read back), compared by value.

mod address;
mod email;
mod ids;
mod money;
mod quantity;
#[cfg(feature = "openapi")]
mod schema;
mod sku;
mod text;
mod timestamp;

pub use address::{Address, Country};
pub use email::Email;
pub use ids::{AddressId, CustomerId, OrderId, ShipmentId, OMS_NAMESPACE, SHIPMENT_NAMESPACE};
pub use money::{Currency, Money, MoneyError};
pub use quantity::{Quantity, StockLevel};
pub use sku::Sku;
pub use text::{
    AddressLabel, AddressLine, Carrier, City, PaymentMethod, PaymentReference, PersonName,
    PostalCode, ProductName, Reason, TrackingNumber,
};
pub use timestamp::Timestamp;
