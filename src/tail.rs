//! `oms events tail`: the log as JSON lines, in log order.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use event_store::{EventLog, LogFilter};

use crate::cli::TailArgs;

const BATCH: u32 = 1_000;

/// How long `tail` without `--follow` waits for a transaction that holds events back.
const HELD_BACK_LIMIT: Duration = Duration::from_secs(10);

/// Prints events after `--from`; with `--follow`, keeps printing as they commit until
/// `stop` completes. A closed stdout (`| head`) ends it quietly.
pub async fn tail(
    log: &EventLog,
    args: TailArgs,
    out: &mut (dyn Write + Send),
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        event_store::is_migrated(log.pool())
            .await
            .context("reading the database schema")?,
        "the database has no event log yet: run `oms migrate` (or `oms serve`) first"
    );
    let mut after = log
        .position_of(args.from)
        .await
        .context("looking up --from")?
        .with_context(|| format!("there is no event at position {}", args.from))?;
    let filter = LogFilter {
        event_type: args.event_type,
        ..LogFilter::default()
    };
    tokio::pin!(stop);
    if args.follow {
        let mut log = log
            .follow(after, BATCH, filter)
            .await
            .context("listening for new events")?;
        loop {
            let batch = tokio::select! {
                batch = log.next() => batch.context("reading the event log")?,
                () = &mut stop => return Ok(()),
            };
            log.advance(batch.next);
            if !print(out, &batch.events)? {
                return Ok(());
            }
        }
    }
    // Without --follow, print everything committed before we started: an open transaction
    // (anywhere in the cluster) may hold later events back for a moment; wait, within reason.
    loop {
        let read = log.read_committed_after(after, BATCH, &filter, HELD_BACK_LIMIT);
        let batch = tokio::select! {
            batch = read => batch.context("reading the event log")?,
            () = &mut stop => return Ok(()),
        };
        after = batch.next;
        if !print(out, &batch.events)? {
            return Ok(());
        }
        if batch.events.is_empty() {
            if batch.held_back {
                tracing::warn!(
                    position = after.position,
                    "stopping: an open transaction holds back later events"
                );
            }
            return Ok(());
        }
    }
}

/// Prints `events` as JSON lines; `false` once stdout is closed (`| head`).
fn print(
    out: &mut (dyn Write + Send),
    events: &[event_store::RecordedEvent],
) -> anyhow::Result<bool> {
    for event in events {
        let line = serde_json::to_string(event)?;
        if let Err(error) = writeln!(out, "{line}") {
            return quiet_on_broken_pipe(error).map(|()| false);
        }
    }
    if let Err(error) = out.flush() {
        return quiet_on_broken_pipe(error).map(|()| false);
    }
    Ok(true)
}

fn quiet_on_broken_pipe(error: std::io::Error) -> anyhow::Result<()> {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(anyhow::Error::new(error).context("writing to stdout"))
    }
}
