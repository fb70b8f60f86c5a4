//! The `order-fulfillment` process manager: drives an order's life after it is placed.
//!
//! It runs on the projector runtime (checkpoint, single owner, poison handling, status) and
//! reacts to events by sending commands through cqrs-es:
//! - `OrderPlaced`: reserve every line's stock; all reserved, confirm; one short, release
//!   what was reserved and reject naming that sku;
//! - `OrderPaid`: create the shipment (UUIDv5 of the order) with address and lines;
//! - `ShipmentDispatched`: the order is shipped and its reserved stock leaves the shelf;
//! - `ShipmentDelivered`: the order is delivered;
//! - `OrderCancelled`: release the stock; cancel a pending shipment.
//!
//! Its commands cannot share a transaction with its checkpoint, so after a crash a batch is
//! reacted to again. Every command is idempotent by construction (reservations keyed by
//! order, settled orders remembered, a deterministic shipment id, repeats of confirm,
//! reject, ship and deliver change nothing), so a replay leaves stock and orders exactly as
//! one pass would. Stock checks happen in the product aggregate under optimistic
//! concurrency: conflicts are retried, never decided on a stale read. Commands' events carry
//! the triggering event's position as `causation_id` and its `correlation_id`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateContext, AggregateError, CqrsFramework, EventStore};
use domain::clock::SharedClock;
use domain::shipment::ShipmentLine;
use domain::values::{OrderId, ShipmentId};
use domain::{
    Order, OrderCommand, OrderError, OrderEvent, Product, ProductCommand, ProductError, Shipment,
    ShipmentCommand, ShipmentError, ShipmentEvent,
};
use event_store::{EventLog, PgEventRepository};
use futures_util::future::BoxFuture;
use sqlx::PgConnection;

use crate::decode::{Envelope, Event};
use crate::runtime::{Changed, Projection};

/// Its name in status listings.
pub const NAME: &str = "order-fulfillment";

/// How often a command that lost an optimistic-lock race is decided again.
const MAX_ATTEMPTS: u32 = 20;

/// The most log events one batch spans: each reaction costs a few commands, and after a
/// crash the batch since the last checkpoint is reacted to again.
const BATCH_LIMIT: u32 = 20;

#[derive(Clone)]
pub struct OrderFulfillment {
    log: EventLog,
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

    fn batch_limit(&self) -> Option<u32> {
        Some(BATCH_LIMIT)
    }

    fn apply<'a>(
        &'a self,
        _tx: &'a mut PgConnection,
        events: &'a [Envelope],
    ) -> BoxFuture<'a, anyhow::Result<Changed>> {
        Box::pin(async move {
            for envelope in events {
                self.react(envelope).await?;
            }
            Ok(Changed::new())
        })
    }
}

impl OrderFulfillment {
    pub fn new(log: EventLog, clock: SharedClock) -> Self {
        Self { log, clock }
    }

    async fn react(&self, cause: &Envelope) -> anyhow::Result<()> {
        match &cause.event {
            Event::Order(OrderEvent::OrderPlaced {
                order_id, lines, ..
            }) => {
                let mut short = None;
                for line in lines {
                    let reserve = ProductCommand::Reserve {
                        order_id: *order_id,
                        quantity: line.quantity,
                    };
                    match self
                        .execute::<Product>(line.sku.as_str(), reserve, (), cause)
                        .await?
                    {
                        Ok(()) => {}
                        Err(ProductError::InsufficientStock { sku, .. }) => {
                            short = Some(sku);
                            break;
                        }
                        Err(error) => {
                            anyhow::bail!("reserving {} for order {order_id}: {error}", line.sku)
                        }
                    }
                }
                let oid = order_id.to_string();
                match short {
                    None => allow_transition(
                        self.execute::<Order>(
                            &oid,
                            OrderCommand::Confirm,
                            self.clock.clone(),
                            cause,
                        )
                        .await?,
                    )?,
                    Some(sku) => {
                        for line in lines {
                            let release = ProductCommand::Release {
                                order_id: *order_id,
                            };
                            self.execute::<Product>(line.sku.as_str(), release, (), cause)
                                .await?
                                .map_err(anyhow::Error::new)?;
                        }
                        allow_transition(
                            self.execute::<Order>(
                                &oid,
                                OrderCommand::Reject { sku },
                                self.clock.clone(),
                                cause,
                            )
                            .await?,
                        )?;
                    }
                }
            }
            Event::Order(OrderEvent::OrderPaid { .. }) => {
                let order_id: OrderId = cause
                    .aggregate_id
                    .parse()
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let order = self.load::<Order>(&cause.aggregate_id).await?;
                let (Some(address_id), Some(address)) = (
                    order.shipping_address_id(),
                    order.shipping_address().cloned(),
                ) else {
                    anyhow::bail!("paid order {order_id} was never placed");
                };
                let shipment_id = ShipmentId::for_order(order_id);
                let lines = order
                    .lines()
                    .iter()
                    .map(|l| ShipmentLine {
                        sku: l.sku.clone(),
                        product_name: l.product_name.clone(),
                        quantity: l.quantity,
                    })
                    .collect();
                let create = ShipmentCommand::Create {
                    shipment_id,
                    order_id,
                    address_id,
                    address,
                    lines,
                };
                self.execute::<Shipment>(
                    &shipment_id.to_string(),
                    create,
                    self.clock.clone(),
                    cause,
                )
                .await?
                .map_err(anyhow::Error::new)?;
            }
            Event::Shipment(ShipmentEvent::ShipmentDispatched { .. }) => {
                let order_id = self.order_of_shipment(&cause.aggregate_id).await?;
                let shipment_id: ShipmentId = cause
                    .aggregate_id
                    .parse()
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let oid = order_id.to_string();
                allow_transition(
                    self.execute::<Order>(
                        &oid,
                        OrderCommand::MarkShipped { shipment_id },
                        self.clock.clone(),
                        cause,
                    )
                    .await?,
                )?;
                // The goods left: their reserved stock leaves the shelf, whatever the order says.
                for line in self.load::<Order>(&oid).await?.lines() {
                    let ship = ProductCommand::Ship { order_id };
                    self.execute::<Product>(line.sku.as_str(), ship, (), cause)
                        .await?
                        .map_err(anyhow::Error::new)?;
                }
            }
            Event::Shipment(ShipmentEvent::ShipmentDelivered { .. }) => {
                let order_id = self.order_of_shipment(&cause.aggregate_id).await?;
                let deliver = OrderCommand::MarkDelivered;
                allow_transition(
                    self.execute::<Order>(
                        &order_id.to_string(),
                        deliver,
                        self.clock.clone(),
                        cause,
                    )
                    .await?,
                )?;
            }
            Event::Order(OrderEvent::OrderCancelled { .. }) => {
                let order_id: OrderId = cause
                    .aggregate_id
                    .parse()
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                for line in self.load::<Order>(&cause.aggregate_id).await?.lines() {
                    let release = ProductCommand::Release { order_id };
                    self.execute::<Product>(line.sku.as_str(), release, (), cause)
                        .await?
                        .map_err(anyhow::Error::new)?;
                }
                let shipment = ShipmentId::for_order(order_id).to_string();
                match self
                    .execute::<Shipment>(
                        &shipment,
                        ShipmentCommand::Cancel,
                        self.clock.clone(),
                        cause,
                    )
                    .await?
                {
                    // No shipment yet, or one already on its way: nothing to cancel.
                    Ok(())
                    | Err(ShipmentError::NotFound | ShipmentError::InvalidTransition { .. }) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn order_of_shipment(&self, shipment_id: &str) -> anyhow::Result<OrderId> {
        self.load::<Shipment>(shipment_id)
            .await?
            .order_id()
            .ok_or_else(|| anyhow::anyhow!("shipment {shipment_id} was never created"))
    }

    fn store<A: Aggregate>(&self) -> PersistedEventStore<PgEventRepository, A> {
        PersistedEventStore::new_event_store(PgEventRepository::new(self.log.clone()))
            .with_upcasters(domain::events::upcasters())
    }

    async fn load<A: Aggregate>(&self, id: &str) -> anyhow::Result<A> {
        let mut context = self
            .store::<A>()
            .load_aggregate(id)
            .await
            .map_err(|e| anyhow::anyhow!("loading {} {id}: {e}", A::TYPE))?;
        Ok(std::mem::take(context.aggregate()))
    }

    /// Sends `command`; `Ok(Err(_))` is the aggregate's refusal, `Err(_)` a failure to run
    /// it at all. Lost optimistic-lock races are decided again.
    async fn execute<A>(
        &self,
        id: &str,
        command: A::Command,
        services: A::Services,
        cause: &Envelope,
    ) -> anyhow::Result<Result<(), A::Error>>
    where
        A: Aggregate + 'static,
        A::Command: Clone,
        A::Services: Clone,
        A::Error: Send + Sync + 'static,
    {
        let correlation = cause
            .correlation_id
            .clone()
            .unwrap_or_else(|| format!("event:{}", cause.position));
        let metadata = HashMap::from([
            ("correlation_id".to_owned(), correlation),
            (
                "causation_id".to_owned(),
                format!("event:{}", cause.position),
            ),
        ]);
        let cqrs = CqrsFramework::new(self.store::<A>(), vec![], services);
        for attempt in 1..=MAX_ATTEMPTS {
            match cqrs
                .execute_with_metadata(id, command.clone(), metadata.clone())
                .await
            {
                Ok(()) => return Ok(Ok(())),
                Err(AggregateError::UserError(error)) => return Ok(Err(error)),
                Err(AggregateError::AggregateConflict) => {
                    tokio::time::sleep(Duration::from_millis(
                        u64::from(attempt.min(10)) * fastrand_ms(),
                    ))
                    .await;
                }
                Err(error) => anyhow::bail!("{} {id}: {error}", A::TYPE),
            }
        }
        anyhow::bail!("{} {id}: concurrent writers kept colliding", A::TYPE)
    }
}

/// A small random backoff unit in milliseconds (1..=3), without a RNG dependency.
fn fastrand_ms() -> u64 {
    u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            % 3,
    ) + 1
}

/// An order that moved on (cancelled while being confirmed, say) refuses the follow-up: that
/// is an expected outcome, not a failure.
fn allow_transition(result: Result<(), OrderError>) -> anyhow::Result<()> {
    match result {
        Ok(()) | Err(OrderError::InvalidTransition { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Shares one process manager between runtimes in tests and `oms serve`.
pub fn order_fulfillment(log: EventLog, clock: SharedClock) -> Arc<dyn Projection> {
    Arc::new(OrderFulfillment::new(log, clock))
}
