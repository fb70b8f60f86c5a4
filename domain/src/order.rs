//! Orders: placed with prices captured from the catalog, then driven through their life.
//!
//! `PLACED → CONFIRMED | REJECTED`, `CONFIRMED → PAID → SHIPPED → DELIVERED`, and
//! `PLACED | CONFIRMED | PAID → CANCELLED`. The commands the fulfilment process sends
//! (confirm, reject, mark shipped, mark delivered) change nothing when repeated.

use std::collections::BTreeMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::events::{self, EventKind};
use crate::problem::{DomainError, Problem};
use crate::validation::ValidationErrors;
use crate::values::{
    Address, AddressId, Currency, CustomerId, Money, OrderId, PaymentMethod, PaymentReference,
    ProductName, Quantity, Reason, ShipmentId, Sku, Timestamp,
};

/// The most lines an order may have, counted as sent.
pub const MAX_LINES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Placed,
    Confirmed,
    Rejected,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "PLACED",
            Self::Confirmed => "CONFIRMED",
            Self::Rejected => "REJECTED",
            Self::Paid => "PAID",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line as the customer asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// A line as placed: the product's name and price at the moment of placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: Sku,
    pub product_name: ProductName,
    pub quantity: Quantity,
    pub unit_price: Money,
}

impl OrderLine {
    pub fn line_total(&self) -> Money {
        // Bounded at placement: every line total fits (see `place`).
        self.unit_price
            .checked_mul(self.quantity.get())
            .unwrap_or(self.unit_price)
    }
}

/// What an order needs to know about its customer, read from the customer aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFacts {
    pub customer_id: CustomerId,
    pub addresses: BTreeMap<AddressId, Address>,
}

/// What an order captures from a product, read from the product aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFacts {
    pub name: ProductName,
    pub price: Money,
}

/// Place an order. The caller loads the facts (the customer, the products named); the
/// order decides with them.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceOrder {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub shipping_address_id: AddressId,
    pub lines: Vec<RequestedLine>,
    /// `None`: no such customer.
    pub customer: Option<CustomerFacts>,
    /// The products found for the requested skus; a missing sku is unknown.
    pub products: BTreeMap<Sku, ProductFacts>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrderCommand {
    Place(PlaceOrder),
    Confirm,
    /// Not enough stock of `sku`.
    Reject {
        sku: Sku,
    },
    Pay {
        amount: Money,
        method: PaymentMethod,
        reference: PaymentReference,
    },
    Cancel {
        reason: Reason,
    },
    MarkShipped {
        shipment_id: ShipmentId,
    },
    MarkDelivered,
}

impl OrderCommand {
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Place(_) => "place",
            Self::Confirm => "confirm",
            Self::Reject { .. } => "reject",
            Self::Pay { .. } => "pay",
            Self::Cancel { .. } => "cancel",
            Self::MarkShipped { .. } => "mark-shipped",
            Self::MarkDelivered => "mark-delivered",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrderEvent {
    OrderPlaced {
        order_id: OrderId,
        customer_id: CustomerId,
        shipping_address_id: AddressId,
        shipping_address: Address,
        lines: Vec<OrderLine>,
        total: Money,
        placed_at: Timestamp,
    },
    OrderConfirmed {
        at: Timestamp,
    },
    OrderRejected {
        sku: Sku,
        reason: String,
        at: Timestamp,
    },
    OrderPaid {
        amount: Money,
        method: PaymentMethod,
        reference: PaymentReference,
        paid_at: Timestamp,
    },
    OrderCancelled {
        reason: Reason,
        at: Timestamp,
    },
    OrderShipped {
        shipment_id: ShipmentId,
        at: Timestamp,
    },
    OrderDelivered {
        at: Timestamp,
    },
}

impl OrderEvent {
    /// The status the order takes with this event: which, when, and why.
    pub fn status_change(&self) -> StatusChange {
        use OrderStatus as S;
        let (status, at, reason) = match self {
            Self::OrderPlaced { placed_at, .. } => (S::Placed, placed_at, None),
            Self::OrderConfirmed { at } => (S::Confirmed, at, None),
            Self::OrderRejected { reason, at, .. } => (S::Rejected, at, Some(reason.clone())),
            Self::OrderPaid { paid_at, .. } => (S::Paid, paid_at, None),
            Self::OrderCancelled { reason, at } => (S::Cancelled, at, Some(reason.to_string())),
            Self::OrderShipped { at, .. } => (S::Shipped, at, None),
            Self::OrderDelivered { at } => (S::Delivered, at, None),
        };
        StatusChange {
            status,
            at: *at,
            reason,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("no such order")]
    NotFound,
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("no customer {0}")]
    UnknownCustomer(CustomerId),
    #[error("the customer has no address {0}")]
    UnknownAddress(AddressId),
    #[error("unknown sku(s): {}", .0.iter().map(Sku::as_str).collect::<Vec<_>>().join(", "))]
    UnknownSku(Vec<Sku>),
    #[error("order lines in {expected} and {found}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("payment of {received} does not match the order total {expected}")]
    PaymentMismatch { expected: Money, received: Money },
    #[error("cannot {command} an order that is {from}")]
    InvalidTransition {
        from: OrderStatus,
        command: &'static str,
    },
}

impl DomainError for OrderError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotFound => Problem::NotFound,
            Self::Invalid(_) => Problem::ValidationFailed,
            Self::UnknownCustomer(_) => Problem::UnknownCustomer,
            Self::UnknownAddress(_) => Problem::UnknownAddress,
            Self::UnknownSku(_) => Problem::UnknownSku,
            Self::CurrencyMismatch { .. } => Problem::CurrencyMismatch,
            Self::PaymentMismatch { .. } => Problem::PaymentMismatch,
            Self::InvalidTransition { .. } => Problem::InvalidTransition,
        }
    }

    fn validation(&self) -> Option<&ValidationErrors> {
        match self {
            Self::Invalid(errors) => Some(errors),
            _ => None,
        }
    }
}

impl OrderEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::OrderPlaced { .. } => events::ORDER_PLACED,
            Self::OrderConfirmed { .. } => events::ORDER_CONFIRMED,
            Self::OrderRejected { .. } => events::ORDER_REJECTED,
            Self::OrderPaid { .. } => events::ORDER_PAID,
            Self::OrderCancelled { .. } => events::ORDER_CANCELLED,
            Self::OrderShipped { .. } => events::ORDER_SHIPPED,
            Self::OrderDelivered { .. } => events::ORDER_DELIVERED,
        }
    }
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        self.kind().event_type.to_owned()
    }
    fn event_version(&self) -> String {
        self.kind().version.to_owned()
    }
}

/// A change of status, with when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: Timestamp,
    pub reason: Option<String>,
}

/// How an order was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: PaymentReference,
    pub paid_at: Timestamp,
}

/// An order. Its aggregate id is the order id.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    placed: Option<Placed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Placed {
    order_id: OrderId,
    customer_id: CustomerId,
    shipping_address_id: AddressId,
    shipping_address: Address,
    lines: Vec<OrderLine>,
    total: Money,
    status: OrderStatus,
    history: Vec<StatusChange>,
    payment: Option<Payment>,
    shipment_id: Option<ShipmentId>,
}

impl Order {
    pub fn status(&self) -> Option<OrderStatus> {
        self.placed.as_ref().map(|o| o.status)
    }

    pub fn total(&self) -> Option<Money> {
        self.placed.as_ref().map(|o| o.total)
    }

    pub fn lines(&self) -> &[OrderLine] {
        self.placed.as_ref().map_or(&[], |o| &o.lines)
    }

    pub fn shipping_address(&self) -> Option<&Address> {
        self.placed.as_ref().map(|o| &o.shipping_address)
    }

    /// The customer's address the order ships to.
    pub fn shipping_address_id(&self) -> Option<AddressId> {
        self.placed.as_ref().map(|o| o.shipping_address_id)
    }

    pub fn customer_id(&self) -> Option<CustomerId> {
        self.placed.as_ref().map(|o| o.customer_id)
    }

    pub fn history(&self) -> &[StatusChange] {
        self.placed.as_ref().map_or(&[], |o| &o.history)
    }

    /// Whether the order was ever confirmed: the fulfilment process reserves an order's
    /// stock in the transaction that confirms it, so a confirmed order held its stock until
    /// it shipped or was cancelled.
    pub fn was_confirmed(&self) -> bool {
        self.history()
            .iter()
            .any(|change| change.status == OrderStatus::Confirmed)
    }

    pub fn payment(&self) -> Option<&Payment> {
        self.placed.as_ref().and_then(|o| o.payment.as_ref())
    }
}

/// Decides `OrderPlaced` from the request and the facts the caller loaded.
fn place(command: PlaceOrder, now: Timestamp) -> Result<OrderEvent, OrderError> {
    if command.lines.is_empty() || command.lines.len() > MAX_LINES {
        return Err(OrderError::Invalid(ValidationErrors::one(
            "lines",
            format!("must have 1 to {MAX_LINES} lines"),
        )));
    }
    // Repeated skus become one line, in the order they first appear.
    let mut merged: Vec<RequestedLine> = Vec::with_capacity(command.lines.len());
    for line in command.lines {
        match merged.iter_mut().find(|m| m.sku == line.sku) {
            Some(existing) => {
                let sum = i64::from(existing.quantity.get()) + i64::from(line.quantity.get());
                existing.quantity = Quantity::new(sum).map_err(|_| {
                    OrderError::Invalid(ValidationErrors::one(
                        "lines",
                        format!(
                            "the quantities of {} add up to more than {}",
                            line.sku,
                            Quantity::MAX
                        ),
                    ))
                })?;
            }
            None => merged.push(line),
        }
    }
    let customer = command
        .customer
        .filter(|c| c.customer_id == command.customer_id)
        .ok_or(OrderError::UnknownCustomer(command.customer_id))?;
    let shipping_address = customer
        .addresses
        .get(&command.shipping_address_id)
        .cloned()
        .ok_or(OrderError::UnknownAddress(command.shipping_address_id))?;
    let unknown: Vec<Sku> = merged
        .iter()
        .filter(|l| !command.products.contains_key(&l.sku))
        .map(|l| l.sku.clone())
        .collect();
    if !unknown.is_empty() {
        return Err(OrderError::UnknownSku(unknown));
    }
    let mut lines = Vec::with_capacity(merged.len());
    let mut total: Option<Money> = None;
    for line in merged {
        let Some(product) = command.products.get(&line.sku) else {
            continue;
        };
        let order_line = OrderLine {
            sku: line.sku,
            product_name: product.name.clone(),
            quantity: line.quantity,
            unit_price: product.price,
        };
        let too_large = || {
            OrderError::Invalid(ValidationErrors::one(
                "lines",
                "the order total must be at most 1000000.00",
            ))
        };
        let line_total = order_line
            .unit_price
            .checked_mul(order_line.quantity.get())
            .map_err(|_| too_large())?;
        total = Some(match total {
            None => line_total,
            Some(sum) if sum.currency() != line_total.currency() => {
                return Err(OrderError::CurrencyMismatch {
                    expected: sum.currency(),
                    found: line_total.currency(),
                });
            }
            Some(sum) => sum.checked_add(line_total).map_err(|_| too_large())?,
        });
        if total.is_some_and(|t| t.minor() > Money::MAX_INPUT_MINOR) {
            return Err(too_large());
        }
        lines.push(order_line);
    }
    let Some(total) = total else {
        return Err(OrderError::Invalid(ValidationErrors::one(
            "lines",
            "must have 1 to 100 lines",
        )));
    };
    Ok(OrderEvent::OrderPlaced {
        order_id: command.order_id,
        customer_id: command.customer_id,
        shipping_address_id: command.shipping_address_id,
        shipping_address,
        lines,
        total,
        placed_at: now,
    })
}

impl Aggregate for Order {
    const TYPE: &'static str = events::ORDER;
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;
    type Services = SharedClock;

    async fn handle(
        &mut self,
        command: OrderCommand,
        clock: &SharedClock,
        sink: &EventSink<Self>,
    ) -> Result<(), OrderError> {
        use OrderStatus as S;
        let now = clock.now();
        let Some(order) = &self.placed else {
            return match command {
                OrderCommand::Place(place_order) => {
                    sink.write(place(place_order, now)?, self).await;
                    Ok(())
                }
                _ => Err(OrderError::NotFound),
            };
        };
        let invalid = |command: &OrderCommand| OrderError::InvalidTransition {
            from: order.status,
            command: command.name(),
        };
        let event = match (&command, order.status) {
            (OrderCommand::Confirm, S::Placed) => OrderEvent::OrderConfirmed { at: now },
            (OrderCommand::Reject { sku }, S::Placed) => OrderEvent::OrderRejected {
                sku: sku.clone(),
                reason: format!("insufficient stock for sku {sku}"),
                at: now,
            },
            (
                OrderCommand::Pay {
                    amount,
                    method,
                    reference,
                },
                S::Confirmed,
            ) => {
                if *amount != order.total {
                    return Err(OrderError::PaymentMismatch {
                        expected: order.total,
                        received: *amount,
                    });
                }
                OrderEvent::OrderPaid {
                    amount: *amount,
                    method: method.clone(),
                    reference: reference.clone(),
                    paid_at: now,
                }
            }
            (OrderCommand::Cancel { reason }, S::Placed | S::Confirmed | S::Paid) => {
                OrderEvent::OrderCancelled {
                    reason: reason.clone(),
                    at: now,
                }
            }
            (OrderCommand::MarkShipped { shipment_id }, S::Paid) => OrderEvent::OrderShipped {
                shipment_id: *shipment_id,
                at: now,
            },
            (OrderCommand::MarkDelivered, S::Shipped) => OrderEvent::OrderDelivered { at: now },
            // Repeats from the fulfilment process: already done, nothing to change.
            (OrderCommand::Confirm, S::Confirmed)
            | (OrderCommand::Reject { .. }, S::Rejected)
            | (OrderCommand::MarkShipped { .. }, S::Shipped | S::Delivered)
            | (OrderCommand::MarkDelivered, S::Delivered) => return Ok(()),
            _ => return Err(invalid(&command)),
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: OrderEvent) {
        let change = event.status_change();
        match event {
            OrderEvent::OrderPlaced {
                order_id,
                customer_id,
                shipping_address_id,
                shipping_address,
                lines,
                total,
                ..
            } => {
                self.placed = Some(Placed {
                    order_id,
                    customer_id,
                    shipping_address_id,
                    shipping_address,
                    lines,
                    total,
                    status: change.status,
                    history: vec![change],
                    payment: None,
                    shipment_id: None,
                });
            }
            event => {
                let Some(order) = &mut self.placed else {
                    return;
                };
                match event {
                    OrderEvent::OrderPaid {
                        amount,
                        method,
                        reference,
                        paid_at,
                    } => {
                        order.payment = Some(Payment {
                            amount,
                            method,
                            reference,
                            paid_at,
                        });
                    }
                    OrderEvent::OrderShipped { shipment_id, .. } => {
                        order.shipment_id = Some(shipment_id);
                    }
                    _ => {}
                }
                order.status = change.status;
                order.history.push(change);
            }
        }
    }
}
