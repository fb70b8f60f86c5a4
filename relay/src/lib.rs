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

use async_nats::jetstream::context::{Publish, PublishAckFuture};
use async_nats::jetstream::Context;
use cqrs_es::persist::EventUpcaster;
use event_store::RecordedEvent;
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
/// a batch's messages are all in flight at once and its fixed costs (the read, the
/// checkpoint's commit) are paid once per batch (`benches/relay`: 1,000 per batch relayed
/// 0.34x the raw publish rate, 5,000 0.54x).
pub fn options() -> RuntimeOptions {
    RuntimeOptions {
        batch_size: 5_000,
        ..RuntimeOptions::default()
    }
}

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

    /// Sends every message as soon as it is made, then awaits their acknowledgements in
    /// order: JetStream stores the first while the last are still being made.
    async fn publish<T>(
        &self,
        items: &[T],
        message: impl Fn(&T) -> anyhow::Result<Message>,
        what: &'static str,
    ) -> anyhow::Result<()> {
        let mut acks: Vec<PublishAckFuture> = Vec::with_capacity(items.len());
        for item in items {
            let message = message(item)?;
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
            self.publish(events, cloudevent::message, "event").await?;
            let acknowledged = chrono::Utc::now();
            for event in events {
                metrics::delay(
                    (acknowledged - event.recorded_at)
                        .to_std()
                        .unwrap_or_default(),
                );
            }
        }
        // The kept views, round by round; removed with one statement at the end, since
        // the transaction's first write makes it hold the log's readers back until it
        // commits (no write while publishing).
        let mut published = None;
        loop {
            let changes = order_views::pending_after(tx, published, views::PER_ROUND).await?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                break;
            };
            self.publish(&changes, |change| Ok(views::message(change)), "view")
                .await?;
            published = Some(last);
            if (changes.len() as i64) < views::PER_ROUND {
                break;
            }
        }
        if let Some(last) = published {
            order_views::remove_through(tx, last).await?;
        }
        Ok(())
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
        true // the kept views: the `orders` projection wakes the log's readers after it records some
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
