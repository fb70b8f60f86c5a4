//! A background service that reacts to confirmed orders: a durable JetStream consumer of
//! `oms.events.order.OrderConfirmed`, resuming where it stopped across restarts of itself,
//! of NATS and of OMS.
//!
//! Run: `cargo run -p relay --example confirmations -- nats://127.0.0.1:4222`

// An example reports on stdout.
#![allow(clippy::print_stdout)]

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), async_nats::Error> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "nats://127.0.0.1:4222".into());
    let js = jetstream::new(async_nats::connect(url).await?);
    let stream = js.get_stream(relay::DEFAULT_STREAM).await?;
    let config = pull::Config {
        durable_name: Some("confirmations".into()),
        filter_subject: "oms.events.order.OrderConfirmed".into(),
        ..Default::default()
    };
    let consumer = stream
        .get_or_create_consumer("confirmations", config)
        .await?;
    let mut messages = consumer.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        let event: serde_json::Value = serde_json::from_slice(&message.payload)?;
        // At least once: a redelivery carries the same event["id"].
        println!("order {} confirmed at {}", event["subject"], event["time"]);
        message.ack().await?;
    }
    Ok(())
}
