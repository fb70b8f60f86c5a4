//! The `order-fulfillment` process manager: drives an order's life after it is placed.
//!
//! It runs on the projector runtime (single owner, fenced checkpoint, poison handling,
//! status) and reacts to a whole batch of events at once:
//! - `OrderPlaced`: every line in stock, reserve them all and confirm; one short, reject
//!   naming that sku (nothing is reserved);
//! - `OrderPaid`: create the shipment (UUIDv5 of the order) with address and lines;
//! - `ShipmentDispatched`: the order is shipped and its reserved stock leaves the shelf;
//! - `ShipmentDelivered`: the order is delivered;
//! - `OrderCancelled`: release the stock a confirmed order held; cancel a pending shipment.
//!
//! **Exactly once by construction.** The aggregates a batch touches are loaded once
//! (snapshot and tail, one statement per aggregate type), every reaction is decided by
//! the aggregates themselves in log order on that in-memory state, and all the follow-up
//! events are appended in the batch's own transaction, with the checkpoint. A crash
//! anywhere loses the whole batch or nothing; a reaction is never repeated. An API command
//! that wrote one of those aggregates meanwhile makes the append conflict: the transaction
//! rolls back and the runtime runs the batch again on fresh state.
//!
//! Decisions read each aggregate's current state, which may already include later events
//! (an order cancelled after it was placed): an order that is no longer `PLACED` is not
//! reserved for, a cancelled order gets no shipment, and a cancelled order releases only
//! if it was confirmed (reservation and confirmation commit together). Events carry the
//! triggering event's position as `causation_id` and its `correlation_id`.

use std::collections::BTreeSet;
use std::sync::Arc;

use cqrs_es::persist::SerializedEvent;
use domain::clock::SharedClock;
use domain::order::OrderLine;
use domain::shipment::ShipmentLine;
use domain::values::{OrderId, ShipmentId};
use domain::{
    Order, OrderCommand, OrderError, OrderEvent, OrderStatus, Product, ProductCommand, Shipment,
    ShipmentCommand, ShipmentError, ShipmentEvent, ShipmentStatus,
};
use event_store::{aggregates, AggregateStore, EventLog, Working};
use futures_util::future::BoxFuture;
use serde_json::Value;
use sqlx::PgConnection;

use crate::decode::{Envelope, Event};
use crate::runtime::{Changed, Projection};

/// Its name in status listings.
pub const NAME: &str = "order-fulfillment";

#[derive(Clone)]
pub struct OrderFulfillment {
    store: AggregateStore,
    clock: SharedClock,
}

impl std::fmt::Debug for OrderFulfillment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderFulfillment").finish_non_exhaustive()
    }
}

impl Projection for OrderFulfillment {
    fn name(&self) -> &'static str {
        NAME
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &[domain::events::ORDER, domain::events::SHIPMENT]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    fn appends_events(&self) -> bool {
        true
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope],
    ) -> BoxFuture<'a, anyhow::Result<Changed>> {
        Box::pin(async move {
            let mut batch = self.load(events).await?;
            for cause in events {
                batch.react(cause, &self.clock).await?;
            }
            batch.append(tx, &self.store).await?;
            Ok(Changed::new())
        })
    }
}

impl OrderFulfillment {
    pub fn new(log: EventLog, clock: SharedClock) -> Self {
        let store =
            AggregateStore::new(log, domain::events::upcasters(), domain::events::SNAPSHOTS);
        Self { store, clock }
    }

    /// Every aggregate the reactions to `events` read or write, in three statements.
    async fn load(&self, events: &[Envelope]) -> anyhow::Result<Batch> {
        let mut shipment_ids = BTreeSet::new();
        let mut order_ids = BTreeSet::new();
        // The orders whose reactions move stock, and the shipments whose reactions do.
        let mut stocking_orders = BTreeSet::new();
        let mut stocking_shipments = BTreeSet::new();
        // Only what a reaction reads: most order events (the manager's own confirmations
        // among them) need nothing, and only reservations, shipping and releases read
        // products (the aggregates with the most events).
        for cause in events {
            match &cause.event {
                Event::Order(OrderEvent::OrderPlaced { .. }) => {
                    order_ids.insert(cause.aggregate_id.clone());
                    stocking_orders.insert(cause.aggregate_id.clone());
                }
                Event::Order(OrderEvent::OrderPaid { .. }) => {
                    order_ids.insert(cause.aggregate_id.clone());
                    shipment_ids.insert(shipment_of(&cause.aggregate_id)?);
                }
                Event::Order(OrderEvent::OrderCancelled { .. }) => {
                    order_ids.insert(cause.aggregate_id.clone());
                    stocking_orders.insert(cause.aggregate_id.clone());
                    shipment_ids.insert(shipment_of(&cause.aggregate_id)?);
                }
                Event::Shipment(ShipmentEvent::ShipmentDispatched { .. }) => {
                    shipment_ids.insert(cause.aggregate_id.clone());
                    stocking_shipments.insert(cause.aggregate_id.clone());
                }
                Event::Shipment(ShipmentEvent::ShipmentDelivered { .. }) => {
                    shipment_ids.insert(cause.aggregate_id.clone());
                }
                _ => {}
            }
        }
        let shipments = Working::<Shipment>::load(&self.store, shipment_ids).await?;
        stocking_orders.extend(
            stocking_shipments
                .iter()
                .filter_map(|id| shipments.get(id)?.order_id())
                .map(|id| id.to_string()),
        );
        order_ids.extend(
            shipments
                .aggregates()
                .filter_map(Shipment::order_id)
                .map(|id| id.to_string()),
        );
        let orders = Working::<Order>::load(&self.store, order_ids).await?;
        let skus: Vec<String> = stocking_orders
            .iter()
            .filter_map(|id| orders.get(id))
            .flat_map(|o| o.lines().iter().map(|l| l.sku.to_string()))
            .collect();
        let products = Working::<Product>::load(&self.store, skus).await?;
        Ok(Batch {
            orders,
            shipments,
            products,
            appended: Vec::new(),
        })
    }
}

/// One batch's aggregates as loaded, and the events decided for them so far, in the
/// order they were decided.
struct Batch {
    orders: Working<Order>,
    shipments: Working<Shipment>,
    products: Working<Product>,
    appended: Vec<SerializedEvent>,
}

impl Batch {
    async fn react(&mut self, cause: &Envelope, clock: &SharedClock) -> anyhow::Result<()> {
        let metadata = metadata(cause);
        let mut ctx = Reaction {
            batch: self,
            clock,
            metadata: &metadata,
        };
        match &cause.event {
            Event::Order(OrderEvent::OrderPlaced { order_id, .. }) => ctx.placed(*order_id).await,
            Event::Order(OrderEvent::OrderPaid { .. }) => {
                ctx.paid(parse_id(&cause.aggregate_id)?).await
            }
            Event::Order(OrderEvent::OrderCancelled { .. }) => {
                ctx.cancelled(parse_id(&cause.aggregate_id)?).await
            }
            Event::Shipment(ShipmentEvent::ShipmentDispatched { .. }) => {
                ctx.dispatched(parse_id(&cause.aggregate_id)?).await
            }
            Event::Shipment(ShipmentEvent::ShipmentDelivered { .. }) => {
                ctx.delivered(parse_id(&cause.aggregate_id)?).await
            }
            _ => Ok(()),
        }
    }

    /// Appends every decided event with one statement, as the first write of `tx`, and the
    /// snapshots they made due.
    async fn append(self, tx: &mut PgConnection, store: &AggregateStore) -> anyhow::Result<()> {
        if self.appended.is_empty() {
            return Ok(());
        }
        let appended = store.log().append_within(tx, &self.appended).await?;
        let mut snapshots = self.orders.snapshots(store)?;
        snapshots.extend(self.shipments.snapshots(store)?);
        snapshots.extend(self.products.snapshots(store)?);
        let snapshots = aggregates::positioned(snapshots, &self.appended, &appended)
            .ok_or_else(|| anyhow::anyhow!("a snapshot without its event in the batch"))?;
        AggregateStore::save_snapshots(tx, &snapshots).await?;
        Ok(())
    }
}

/// Reacting to one event within a batch.
struct Reaction<'a> {
    batch: &'a mut Batch,
    clock: &'a SharedClock,
    metadata: &'a Value,
}

impl Reaction<'_> {
    fn order(&self, order_id: OrderId) -> Option<&Order> {
        self.batch.orders.get(&order_id.to_string())
    }

    async fn order_command(
        &mut self,
        order_id: OrderId,
        command: OrderCommand,
    ) -> anyhow::Result<()> {
        let outcome = self
            .batch
            .orders
            .decide(
                &order_id.to_string(),
                command,
                self.clock,
                self.metadata,
                &mut self.batch.appended,
            )
            .await?;
        match outcome {
            Ok(()) | Err(OrderError::InvalidTransition { .. }) => Ok(()),
            Err(error) => Err(anyhow::Error::new(error).context(format!("order {order_id}"))),
        }
    }

    async fn product_command(
        &mut self,
        line: &OrderLine,
        command: ProductCommand,
    ) -> anyhow::Result<()> {
        self.batch
            .products
            .decide(
                line.sku.as_str(),
                command,
                &(),
                self.metadata,
                &mut self.batch.appended,
            )
            .await?
            .map_err(|error| anyhow::Error::new(error).context(format!("product {}", line.sku)))
    }

    async fn placed(&mut self, order_id: OrderId) -> anyhow::Result<()> {
        let Some(order) = self.order(order_id) else {
            anyhow::bail!("order {order_id} has no events");
        };
        if order.status() != Some(OrderStatus::Placed) {
            return Ok(()); // moved on (cancelled) before it was reacted to
        }
        let lines = order.lines().to_vec();
        let short = lines.iter().find(|line| {
            self.batch
                .products
                .get(line.sku.as_str())
                .is_none_or(|p| p.available() < u64::from(line.quantity.get()))
        });
        let placed = order
            .history()
            .first()
            .map(|change| change.at.as_datetime());
        if let Some(line) = short {
            let sku = line.sku.clone();
            self.order_command(order_id, OrderCommand::Reject { sku })
                .await?;
            if let Some(at) = placed {
                crate::metrics::decided("rejected", at);
            }
            return Ok(());
        }
        for line in &lines {
            let reserve = ProductCommand::Reserve {
                order_id,
                quantity: line.quantity,
            };
            self.product_command(line, reserve).await?;
        }
        self.order_command(order_id, OrderCommand::Confirm).await?;
        if let Some(at) = placed {
            crate::metrics::decided("confirmed", at);
        }
        Ok(())
    }

    async fn paid(&mut self, order_id: OrderId) -> anyhow::Result<()> {
        let Some(order) = self.order(order_id) else {
            anyhow::bail!("paid order {order_id} has no events");
        };
        if order.status() == Some(OrderStatus::Cancelled) {
            return Ok(()); // cancelled after payment: nothing will ship
        }
        let (Some(address_id), Some(address)) = (
            order.shipping_address_id(),
            order.shipping_address().cloned(),
        ) else {
            anyhow::bail!("paid order {order_id} was never placed");
        };
        let shipment_id = ShipmentId::for_order(order_id);
        let lines = order.lines().iter().map(ShipmentLine::from).collect();
        let create = ShipmentCommand::Create {
            shipment_id,
            order_id,
            address_id,
            address,
            lines,
        };
        self.batch
            .shipments
            .decide(
                &shipment_id.to_string(),
                create,
                self.clock,
                self.metadata,
                &mut self.batch.appended,
            )
            .await?
            .map_err(|e| anyhow::Error::new(e).context(format!("shipment of order {order_id}")))
    }

    async fn dispatched(&mut self, shipment_id: ShipmentId) -> anyhow::Result<()> {
        let order_id = self.order_of(shipment_id)?;
        let Some(order) = self.order(order_id) else {
            anyhow::bail!("order {order_id} of shipment {shipment_id} has no events");
        };
        match order.status() {
            Some(OrderStatus::Paid) => {}
            Some(OrderStatus::Cancelled) => {
                // Only possible for shipments dispatched before cancel and dispatch were
                // made exclusive (order_fates): its stock was released at the cancel.
                tracing::warn!(%order_id, %shipment_id, "a cancelled order's shipment was dispatched");
                return Ok(());
            }
            _ => return Ok(()),
        }
        let lines = order.lines().to_vec();
        self.order_command(order_id, OrderCommand::MarkShipped { shipment_id })
            .await?;
        for line in &lines {
            let ship = ProductCommand::Ship {
                order_id,
                quantity: line.quantity,
            };
            self.product_command(line, ship).await?;
        }
        Ok(())
    }

    async fn delivered(&mut self, shipment_id: ShipmentId) -> anyhow::Result<()> {
        let order_id = self.order_of(shipment_id)?;
        self.order_command(order_id, OrderCommand::MarkDelivered)
            .await
    }

    async fn cancelled(&mut self, order_id: OrderId) -> anyhow::Result<()> {
        let Some(order) = self.order(order_id) else {
            anyhow::bail!("cancelled order {order_id} has no events");
        };
        if order.was_confirmed() {
            for line in order.lines().to_vec() {
                let release = ProductCommand::Release {
                    order_id,
                    quantity: line.quantity,
                };
                self.product_command(&line, release).await?;
            }
        }
        let shipment_id = ShipmentId::for_order(order_id);
        let pending = self
            .batch
            .shipments
            .get(&shipment_id.to_string())
            .and_then(Shipment::status)
            == Some(ShipmentStatus::Pending);
        if pending {
            let outcome = self
                .batch
                .shipments
                .decide(
                    &shipment_id.to_string(),
                    ShipmentCommand::Cancel,
                    self.clock,
                    self.metadata,
                    &mut self.batch.appended,
                )
                .await?;
            match outcome {
                Ok(()) | Err(ShipmentError::InvalidTransition { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    fn order_of(&self, shipment_id: ShipmentId) -> anyhow::Result<OrderId> {
        self.batch
            .shipments
            .get(&shipment_id.to_string())
            .and_then(Shipment::order_id)
            .ok_or_else(|| anyhow::anyhow!("shipment {shipment_id} was never created"))
    }
}

/// A follow-up event's metadata: the trigger's correlation, the trigger as cause, and
/// the platform itself as actor.
fn metadata(cause: &Envelope) -> Value {
    let causation = format!("event:{}", cause.position);
    let correlation = cause
        .correlation_id
        .clone()
        .unwrap_or_else(|| causation.clone());
    event_store::event::metadata(&correlation, &causation, event_store::event::system_actor())
}

/// The id of the shipment of the order `order_id`.
fn shipment_of(order_id: &str) -> anyhow::Result<String> {
    let order_id: OrderId = parse_id(order_id)?;
    Ok(ShipmentId::for_order(order_id).to_string())
}

fn parse_id<T: std::str::FromStr>(id: &str) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    id.parse()
        .map_err(|e| anyhow::anyhow!("aggregate id {id:?}: {e}"))
}

/// Shares one process manager between runtimes in tests and `oms serve`.
pub fn order_fulfillment(log: EventLog, clock: SharedClock) -> Arc<dyn Projection> {
    Arc::new(OrderFulfillment::new(log, clock))
}
