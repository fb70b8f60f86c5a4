//! The relay: the event log published to NATS JetStream, for services outside OMS.
//!
//! The relay is a follower of the log on the projections' runtime (projection `relay`):
//! one owner at a time with a standby taking over, its checkpoint fenced and advanced in
//! the batch's transaction, outages waited out as `RETRYING`. A batch:
//!
//! 1. publishes every event as a CloudEvent ([`cloudevent`]) on
//!    `oms.events.<aggregate>.<EventType>`, all sent before any acknowledgement is awaited
//!    (pipelined), then awaits the acknowledgements in order;
//! 2. publishes the enriched order views the `orders` projection recorded ([`views`]) on
//!    `oms.orders.<order id>`, in the order they were recorded, and removes them;
//! 3. and only then lets the runtime advance the checkpoint.
//!
//! Every message carries `Nats-Msg-Id`, stable for what it carries: after a crash
//! anywhere in a batch, the batch is published again and JetStream drops what it already
//! stored (within [`stream::DUPLICATE_WINDOW`]); nothing is skipped, since the checkpoint
//! only passes what JetStream acknowledged. One publisher, in log order, keeps each
//! aggregate's events in sequence order.
//!
//! NATS unreachable is an outage ([`Unavailable`]), not a failure of the batch: commands
//! and queries go on, and the relay catches up when NATS is back.

pub mod cloudevent;
pub mod metrics;
pub mod stream;
#[cfg(feature = "testing")]
pub mod testing;
pub mod views;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{Publish, PublishAckFuture};
use async_nats::jetstream::Context;
use cqrs_es::persist::EventUpcaster;
use event_store::{LogPosition, RecordedEvent};
use futures_util::future::BoxFuture;
use projections::decode::Envelope;
use projections::order_views;
use projections::runtime::{Changed, Projection, RuntimeOptions};
use sqlx::PgConnection;

pub use projections::order_views::RELAY as NAME;

use crate::cloudevent::Message;

/// Where the relay publishes: `OMS_NATS_URL`, `OMS_NATS_STREAM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The NATS server(s), like `nats://127.0.0.1:4222` (comma-separated for a cluster).
    pub url: String,
    /// The JetStream stream's name.
    pub stream: String,
}

/// The stream's name when `OMS_NATS_STREAM` is not set.
pub const DEFAULT_STREAM: &str = "OMS_EVENTS";

/// NATS could not be reached or did not answer in time: waited out, never poison.
#[derive(Debug, thiserror::Error)]
#[error("NATS: {doing}: {cause}")]
pub struct Unavailable {
    doing: String,
    cause: String,
}

impl Unavailable {
    pub fn new(doing: impl Into<String>, cause: &dyn std::fmt::Display) -> Self {
        Self {
            doing: doing.into(),
            cause: cause.to_string(),
        }
    }
}

/// The runtime settings the relay runs with: larger batches than the read models, since
/// a batch's messages are all in flight at once.
pub fn options() -> RuntimeOptions {
    RuntimeOptions {
        batch_size: 1_000,
        ..RuntimeOptions::default()
    }
}

/// How long a batch waits for the `orders` projection to pass its last event, so that the
/// views that event changed go out with it (later ones go with the next batch).
const VIEWS_WAIT: Duration = Duration::from_secs(2);

/// The relay, as a projection of the runtime.
#[derive(Debug)]
pub struct Relay {
    client: async_nats::Client,
    jetstream: Context,
    settings: Settings,
    /// The stream is known to exist (checked once per connection).
    stream_ready: AtomicBool,
}

impl Relay {
    /// A relay publishing to `settings`. Does not wait for NATS: while it is unreachable
    /// the relay is `RETRYING`, and the client reconnects by itself.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name("oms relay")
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connect(settings.url.as_str())
            .await
            .map_err(|e| anyhow::anyhow!("NATS at {}: {e}", settings.url))?;
        let jetstream = async_nats::jetstream::new(client.clone());
        Ok(Self {
            client,
            jetstream,
            settings,
            stream_ready: AtomicBool::new(false),
        })
    }

    /// Connected, and the stream exists.
    async fn ready(&self) -> Result<(), Unavailable> {
        if self.client.connection_state() != async_nats::connection::State::Connected {
            self.stream_ready.store(false, Ordering::Relaxed);
            return Err(Unavailable::new(
                format!("connecting to {}", self.settings.url),
                &"not connected",
            ));
        }
        if !self.stream_ready.load(Ordering::Relaxed) {
            stream::ensure(&self.jetstream, &self.settings.stream).await?;
            self.stream_ready.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Sends every message, then awaits their acknowledgements in order.
    async fn publish(&self, messages: Vec<Message>, what: &'static str) -> Result<(), Unavailable> {
        let mut acks: Vec<PublishAckFuture> = Vec::with_capacity(messages.len());
        for message in messages {
            let publish = Publish::build()
                .payload(message.body)
                .message_id(message.id.to_string());
            let ack = self
                .jetstream
                .send_publish(message.subject, publish)
                .await
                .map_err(|e| self.failed("publishing", &e))?;
            acks.push(ack);
        }
        let (mut stored, mut duplicates) = (0_u64, 0_u64);
        for ack in acks {
            let ack = ack
                .await
                .map_err(|e| self.failed("awaiting an acknowledgement", &e))?;
            if ack.duplicate {
                duplicates += 1;
            } else {
                stored += 1;
            }
        }
        metrics::published(what, stored, duplicates);
        Ok(())
    }

    /// A publication failed: the stream is checked again before the next.
    fn failed(&self, doing: &str, error: &dyn std::fmt::Display) -> Unavailable {
        self.stream_ready.store(false, Ordering::Relaxed);
        Unavailable::new(format!("{doing} to stream {}", self.settings.stream), error)
    }

    async fn relay(&self, tx: &mut PgConnection, events: &[RecordedEvent]) -> anyhow::Result<()> {
        self.ready().await?;
        if !events.is_empty() {
            let messages = events
                .iter()
                .map(cloudevent::message)
                .collect::<anyhow::Result<Vec<_>>>()?;
            self.publish(messages, "event").await?;
            let acknowledged = chrono::Utc::now();
            for event in events {
                metrics::delay(
                    (acknowledged - event.recorded_at)
                        .to_std()
                        .unwrap_or_default(),
                );
            }
        }
        if let Some(last) = events.last() {
            wait_for_orders(tx, last.log_position()).await?;
        }
        loop {
            let changes = order_views::pending(tx, views::PER_ROUND).await?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(());
            };
            let full = changes.len() as i64 == views::PER_ROUND;
            self.publish(changes.iter().map(views::message).collect(), "view")
                .await?;
            order_views::remove_through(tx, last).await?;
            if !full {
                return Ok(());
            }
        }
    }
}

/// Waits (up to [`VIEWS_WAIT`]) until the running `orders` projection has passed `at`.
async fn wait_for_orders(tx: &mut PgConnection, at: LogPosition) -> sqlx::Result<()> {
    let deadline = Instant::now() + VIEWS_WAIT;
    loop {
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT transaction_id, position, state FROM projection_checkpoints WHERE name = 'orders'",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some((transaction_id, position, state)) = row else {
            return Ok(()); // no orders projection runs here
        };
        let reached = LogPosition {
            transaction_id,
            position,
        };
        if reached >= at || state != projections::status::RUNNING || Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

impl Projection for Relay {
    fn name(&self) -> &'static str {
        NAME
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        domain::events::AGGREGATE_TYPES
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    fn runs_idle(&self) -> bool {
        true
    }

    fn fails_in_passing(&self, error: &anyhow::Error) -> bool {
        error.chain().any(|cause| cause.is::<Unavailable>())
    }

    fn apply_stored<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [RecordedEvent],
        _upcasters: &'a [Box<dyn EventUpcaster>],
    ) -> BoxFuture<'a, anyhow::Result<Changed>> {
        Box::pin(async move {
            self.relay(tx, events).await?;
            Ok(Changed::new())
        })
    }

    fn apply<'a>(
        &'a self,
        _tx: &'a mut PgConnection,
        _events: &'a [Envelope],
    ) -> BoxFuture<'a, anyhow::Result<Changed>> {
        // The runtime hands the relay events as stored (`apply_stored`); it has no tables
        // to rebuild, so nothing hands it decoded ones.
        Box::pin(async { anyhow::bail!("the relay publishes events as stored, not decoded") })
    }
}
