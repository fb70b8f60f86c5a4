//! Shipments: one per paid order, `PENDING → DISPATCHED → DELIVERED`, or `PENDING → CANCELLED`.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::events::{self, EventKind};
use crate::problem::{DomainError, Problem};
use crate::values::{
    Address, AddressId, Carrier, OrderId, ProductName, Quantity, ShipmentId, Sku, Timestamp,
    TrackingNumber,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShipmentStatus {
    Pending,
    Dispatched,
    Delivered,
    Cancelled,
}

impl ShipmentStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Dispatched => "DISPATCHED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

impl std::fmt::Display for ShipmentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line of the order, copied into the shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLine {
    pub sku: Sku,
    pub product_name: ProductName,
    pub quantity: Quantity,
}

impl From<&crate::order::OrderLine> for ShipmentLine {
    /// The line as the shipment carries it (no price).
    fn from(line: &crate::order::OrderLine) -> Self {
        Self {
            sku: line.sku.clone(),
            product_name: line.product_name.clone(),
            quantity: line.quantity,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ShipmentCommand {
    /// `shipment_id` must be [`ShipmentId::for_order`] of `order_id`.
    Create {
        shipment_id: ShipmentId,
        order_id: OrderId,
        address_id: AddressId,
        address: Address,
        lines: Vec<ShipmentLine>,
    },
    Dispatch {
        carrier: Carrier,
        tracking_number: TrackingNumber,
    },
    Deliver,
    Cancel,
}

impl ShipmentCommand {
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Create { .. } => "create",
            Self::Dispatch { .. } => "dispatch",
            Self::Deliver => "deliver",
            Self::Cancel => "cancel",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ShipmentEvent {
    ShipmentCreated {
        shipment_id: ShipmentId,
        order_id: OrderId,
        address_id: AddressId,
        address: Address,
        lines: Vec<ShipmentLine>,
        created_at: Timestamp,
    },
    ShipmentDispatched {
        carrier: Carrier,
        tracking_number: TrackingNumber,
        dispatched_at: Timestamp,
    },
    ShipmentDelivered {
        delivered_at: Timestamp,
    },
    ShipmentCancelled {
        cancelled_at: Timestamp,
    },
}

impl ShipmentEvent {
    /// The status the shipment takes with this event.
    pub const fn status(&self) -> ShipmentStatus {
        match self {
            Self::ShipmentCreated { .. } => ShipmentStatus::Pending,
            Self::ShipmentDispatched { .. } => ShipmentStatus::Dispatched,
            Self::ShipmentDelivered { .. } => ShipmentStatus::Delivered,
            Self::ShipmentCancelled { .. } => ShipmentStatus::Cancelled,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShipmentError {
    #[error("no such shipment")]
    NotFound,
    #[error("shipment {shipment_id} is not the shipment of order {order_id}")]
    NotTheOrdersShipment {
        shipment_id: ShipmentId,
        order_id: OrderId,
    },
    #[error("cannot {command} a shipment that is {from}")]
    InvalidTransition {
        from: ShipmentStatus,
        command: &'static str,
    },
}

impl DomainError for ShipmentError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotFound => Problem::NotFound,
            Self::NotTheOrdersShipment { .. } => Problem::ValidationFailed,
            Self::InvalidTransition { .. } => Problem::InvalidTransition,
        }
    }
}

impl ShipmentEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::ShipmentCreated { .. } => events::SHIPMENT_CREATED,
            Self::ShipmentDispatched { .. } => events::SHIPMENT_DISPATCHED,
            Self::ShipmentDelivered { .. } => events::SHIPMENT_DELIVERED,
            Self::ShipmentCancelled { .. } => events::SHIPMENT_CANCELLED,
        }
    }
}

impl DomainEvent for ShipmentEvent {
    fn event_type(&self) -> String {
        self.kind().event_type.to_owned()
    }
    fn event_version(&self) -> String {
        self.kind().version.to_owned()
    }
}

/// A shipment. Its aggregate id is the shipment id.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    created: Option<Created>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Created {
    order_id: OrderId,
    status: ShipmentStatus,
}

impl Shipment {
    pub fn status(&self) -> Option<ShipmentStatus> {
        self.created.as_ref().map(|s| s.status)
    }

    pub fn order_id(&self) -> Option<OrderId> {
        self.created.as_ref().map(|s| s.order_id)
    }
}

impl Aggregate for Shipment {
    const TYPE: &'static str = events::SHIPMENT;
    type Command = ShipmentCommand;
    type Event = ShipmentEvent;
    type Error = ShipmentError;
    type Services = SharedClock;

    async fn handle(
        &mut self,
        command: ShipmentCommand,
        clock: &SharedClock,
        sink: &EventSink<Self>,
    ) -> Result<(), ShipmentError> {
        use ShipmentStatus as S;
        let now = clock.now();
        let event = match (command, &self.created) {
            (
                ShipmentCommand::Create {
                    shipment_id,
                    order_id,
                    address_id,
                    address,
                    lines,
                },
                None,
            ) => {
                if shipment_id != ShipmentId::for_order(order_id) {
                    return Err(ShipmentError::NotTheOrdersShipment {
                        shipment_id,
                        order_id,
                    });
                }
                ShipmentEvent::ShipmentCreated {
                    shipment_id,
                    order_id,
                    address_id,
                    address,
                    lines,
                    created_at: now,
                }
            }
            (_, None) => return Err(ShipmentError::NotFound),
            // Created again for the same order (a repeated OrderPaid): nothing to change.
            (ShipmentCommand::Create { order_id, .. }, Some(shipment))
                if order_id == shipment.order_id =>
            {
                return Ok(())
            }
            (
                ShipmentCommand::Dispatch {
                    carrier,
                    tracking_number,
                },
                Some(s),
            ) if s.status == S::Pending => ShipmentEvent::ShipmentDispatched {
                carrier,
                tracking_number,
                dispatched_at: now,
            },
            (ShipmentCommand::Deliver, Some(s)) if s.status == S::Dispatched => {
                ShipmentEvent::ShipmentDelivered { delivered_at: now }
            }
            (ShipmentCommand::Cancel, Some(s)) if s.status == S::Pending => {
                ShipmentEvent::ShipmentCancelled { cancelled_at: now }
            }
            (ShipmentCommand::Cancel, Some(s)) if s.status == S::Cancelled => return Ok(()),
            (command, Some(s)) => {
                return Err(ShipmentError::InvalidTransition {
                    from: s.status,
                    command: command.name(),
                })
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: ShipmentEvent) {
        let status = event.status();
        if let ShipmentEvent::ShipmentCreated { order_id, .. } = event {
            self.created = Some(Created { order_id, status });
        } else if let Some(shipment) = &mut self.created {
            shipment.status = status;
        }
    }
}
