//! The JetStream stream the relay publishes into, created when missing.

use std::time::Duration;

use async_nats::jetstream::stream::{Config, StorageType};
use async_nats::jetstream::Context;

use crate::cloudevent::EVENTS_PREFIX;
use crate::views::VIEWS_PREFIX;
use crate::Unavailable;

/// How long JetStream remembers a `Nats-Msg-Id` to drop its republication: longer than a
/// relay takes to be replaced (a standby polls every second) or restarted.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// The subjects the stream captures.
pub fn subjects() -> Vec<String> {
    vec![format!("{EVENTS_PREFIX}.>"), format!("{VIEWS_PREFIX}.>")]
}

/// The stream's settings: both subjects, kept on file, the duplicate window.
pub fn config(name: &str) -> Config {
    Config {
        name: name.to_owned(),
        subjects: subjects(),
        storage: StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        ..Config::default()
    }
}

/// Refuses what JetStream does not take as a stream name (`OMS_NATS_STREAM`): empty, or
/// with white space, `.`, `*`, `>` or a path separator.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let bad = |c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\');
    anyhow::ensure!(
        !name.is_empty() && !name.contains(bad),
        "OMS_NATS_STREAM {name:?} is not a JetStream stream name (no spaces, '.', '*', '>', '/' or '\\')"
    );
    Ok(())
}

/// Creates the stream `name` when missing. One that exists keeps its own settings, but
/// gains the relay's subjects and duplicate window if it lacks them.
pub async fn ensure(jetstream: &Context, name: &str) -> Result<(), Unavailable> {
    let mut stream = jetstream
        .get_or_create_stream(config(name))
        .await
        .map_err(|e| Unavailable::new(format!("creating stream {name}"), &e))?;
    let info = stream
        .info()
        .await
        .map_err(|e| Unavailable::new(format!("reading stream {name}"), &e))?;
    let mut config = info.config.clone();
    let missing: Vec<String> = subjects()
        .into_iter()
        .filter(|s| !config.subjects.contains(s))
        .collect();
    if missing.is_empty() && config.duplicate_window >= DUPLICATE_WINDOW {
        return Ok(());
    }
    tracing::info!(
        stream = name,
        ?missing,
        "adding the relay's subjects and duplicate window to the stream"
    );
    config.subjects.extend(missing);
    config.duplicate_window = config.duplicate_window.max(DUPLICATE_WINDOW);
    jetstream
        .update_stream(config)
        .await
        .map_err(|e| Unavailable::new(format!("updating stream {name}"), &e))?;
    Ok(())
}
