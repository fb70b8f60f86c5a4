//! Event type names and versions: stored data, a public API. Defined here, in one place;
//! tested unique; never changed. A changed shape gets a new version and an upcaster here.

use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use serde_json::Value;

/// One event type at its current version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    pub aggregate_type: &'static str,
    pub event_type: &'static str,
    pub version: &'static str,
}

const fn kind(
    aggregate_type: &'static str,
    event_type: &'static str,
    version: &'static str,
) -> EventKind {
    EventKind {
        aggregate_type,
        event_type,
        version,
    }
}

pub const CUSTOMER: &str = "Customer";
pub const PRODUCT: &str = "Product";
pub const ORDER: &str = "Order";
pub const SHIPMENT: &str = "Shipment";
/// Every aggregate type in the log.
pub const AGGREGATE_TYPES: &[&str] = &[CUSTOMER, PRODUCT, ORDER, SHIPMENT];

pub const CUSTOMER_REGISTERED: EventKind = kind(CUSTOMER, "CustomerRegistered", "2");
pub const CUSTOMER_RENAMED: EventKind = kind(CUSTOMER, "CustomerRenamed", "1");
pub const CUSTOMER_EMAIL_CHANGED: EventKind = kind(CUSTOMER, "CustomerEmailChanged", "1");
pub const CUSTOMER_ADDRESS_ADDED: EventKind = kind(CUSTOMER, "CustomerAddressAdded", "1");

pub const PRODUCT_DEFINED: EventKind = kind(PRODUCT, "ProductDefined", "1");
pub const PRODUCT_PRICE_CHANGED: EventKind = kind(PRODUCT, "ProductPriceChanged", "1");
pub const PRODUCT_RESTOCKED: EventKind = kind(PRODUCT, "ProductRestocked", "1");
pub const STOCK_RESERVED: EventKind = kind(PRODUCT, "StockReserved", "1");
pub const STOCK_RELEASED: EventKind = kind(PRODUCT, "StockReleased", "1");
pub const STOCK_SHIPPED: EventKind = kind(PRODUCT, "StockShipped", "1");

pub const ORDER_PLACED: EventKind = kind(ORDER, "OrderPlaced", "1");
pub const ORDER_CONFIRMED: EventKind = kind(ORDER, "OrderConfirmed", "1");
pub const ORDER_REJECTED: EventKind = kind(ORDER, "OrderRejected", "1");
pub const ORDER_PAID: EventKind = kind(ORDER, "OrderPaid", "1");
pub const ORDER_CANCELLED: EventKind = kind(ORDER, "OrderCancelled", "1");
pub const ORDER_SHIPPED: EventKind = kind(ORDER, "OrderShipped", "1");
pub const ORDER_DELIVERED: EventKind = kind(ORDER, "OrderDelivered", "1");

pub const SHIPMENT_CREATED: EventKind = kind(SHIPMENT, "ShipmentCreated", "1");
pub const SHIPMENT_DISPATCHED: EventKind = kind(SHIPMENT, "ShipmentDispatched", "1");
pub const SHIPMENT_DELIVERED: EventKind = kind(SHIPMENT, "ShipmentDelivered", "1");
pub const SHIPMENT_CANCELLED: EventKind = kind(SHIPMENT, "ShipmentCancelled", "1");

/// Every event type, at its current version.
pub const ALL: &[EventKind] = &[
    CUSTOMER_REGISTERED,
    CUSTOMER_RENAMED,
    CUSTOMER_EMAIL_CHANGED,
    CUSTOMER_ADDRESS_ADDED,
    PRODUCT_DEFINED,
    PRODUCT_PRICE_CHANGED,
    PRODUCT_RESTOCKED,
    STOCK_RESERVED,
    STOCK_RELEASED,
    STOCK_SHIPPED,
    ORDER_PLACED,
    ORDER_CONFIRMED,
    ORDER_REJECTED,
    ORDER_PAID,
    ORDER_CANCELLED,
    ORDER_SHIPPED,
    ORDER_DELIVERED,
    SHIPMENT_CREATED,
    SHIPMENT_DISPATCHED,
    SHIPMENT_DELIVERED,
    SHIPMENT_CANCELLED,
];

/// The aggregates whose state is snapshotted, each with the version of its state's serde
/// shape. Change an aggregate's fields and bump its number here: snapshots of another
/// version are ignored (folded from events instead) and replaced as it is next written.
pub const SNAPSHOTS: &[(&str, u32)] = &[(CUSTOMER, 1), (PRODUCT, 1), (ORDER, 1), (SHIPMENT, 1)];

/// Older versions still readable, each with the upcaster that brings it to the current one.
pub const SUPERSEDED: &[(EventKind, &str)] = &[(CUSTOMER_REGISTERED, "1")];

/// The upcasters every event store of OMS must be built with.
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(CustomerRegisteredV1)]
}

/// `CustomerRegistered` v1 had no `registered_at`; v2 records it. For a v1 event, the
/// time it was recorded in the log is when the customer registered.
#[derive(Debug)]
struct CustomerRegisteredV1;

impl EventUpcaster for CustomerRegisteredV1 {
    fn can_upcast(&self, event_type: &str, event_version: &str) -> bool {
        event_type == CUSTOMER_REGISTERED.event_type && event_version == "1"
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        let recorded_at = event
            .metadata
            .get("recorded_at")
            .cloned()
            .unwrap_or_else(|| Value::String("1970-01-01T00:00:00Z".into()));
        if let Some(Value::Object(body)) = event.payload.get_mut(CUSTOMER_REGISTERED.event_type) {
            body.entry("registered_at").or_insert(recorded_at);
        }
        event.event_version = CUSTOMER_REGISTERED.version.to_owned();
        event
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn event_type_names_are_unique() {
        let names: HashSet<_> = ALL.iter().map(|k| k.event_type).collect();
        assert_eq!(names.len(), ALL.len());
    }
}
