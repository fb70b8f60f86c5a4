//! Identifiers. All are UUIDs, chosen by the platform (shipments: derived from the order).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::ValueError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Its OpenAPI schema: a UUID.
            #[cfg(feature = "openapi")]
            pub fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                super::schema::uuid()
            }

            /// A new random id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the text form of a UUID.
            pub fn parse(text: &str) -> Result<Self, ValueError> {
                Uuid::parse_str(text.trim()).map(Self).map_err(|_| ValueError::Invalid("must be a UUID"))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(text: &str) -> Result<Self, ValueError> {
                Self::parse(text)
            }
        }
    };
}

uuid_id!(
    /// A customer.
    CustomerId
);
uuid_id!(
    /// One of a customer's addresses.
    AddressId
);
uuid_id!(
    /// An order.
    OrderId
);
uuid_id!(
    /// A shipment. Each order has at most one: see [`ShipmentId::for_order`].
    ShipmentId
);

/// The fixed namespace of shipment ids. Never change it: ids derived from it are stored.
pub const SHIPMENT_NAMESPACE: Uuid = Uuid::from_u128(0x6f6d_7300_5348_4950_8000_0000_0000_0001);

impl ShipmentId {
    /// The shipment of an order: a UUIDv5 of the order id, so that creating it twice (a
    /// retried or replayed `OrderPaid`) names the same shipment.
    pub fn for_order(order: OrderId) -> Self {
        Self(Uuid::new_v5(
            &SHIPMENT_NAMESPACE,
            order.as_uuid().as_bytes(),
        ))
    }
}

/// The fixed namespace of the names OMS derives from outside identities (a token's
/// issuer and subject; integration events). Never change it: ids derived from it are stored.
pub const OMS_NAMESPACE: Uuid = Uuid::from_u128(0x6f6d_7300_4f4d_5300_8000_0000_0000_0000);

impl CustomerId {
    /// The customer of a token's subject: the UUIDv5 of `"<iss>|<sub>"` in
    /// [`OMS_NAMESPACE`], so every token of that subject acts as the same customer.
    pub fn for_subject(issuer: &str, subject: &str) -> Self {
        Self(Uuid::new_v5(
            &OMS_NAMESPACE,
            format!("{issuer}|{subject}").as_bytes(),
        ))
    }
}
