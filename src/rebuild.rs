//! `oms projections rebuild NAME|--all`: a progress bar on a terminal, lines otherwise.

use anyhow::Context;
use event_store::EventLog;

use crate::progress::Progress;

/// Rebuilds `name`, or every projection when `None`.
pub async fn rebuild(log: &EventLog, name: Option<&str>) -> anyhow::Result<()> {
    anyhow::ensure!(
        event_store::is_migrated(log.pool())
            .await
            .context("reading the database schema")?,
        "the database is not migrated yet: run `oms migrate` (or `oms serve`) first"
    );
    let all = projections::read_models();
    let chosen: Vec<_> = match name {
        None => all,
        Some(name) => {
            let found: Vec<_> = all.into_iter().filter(|p| p.name() == name).collect();
            anyhow::ensure!(
                !found.is_empty(),
                "no projection named {name:?}; known: {}",
                projections::names().join(", ")
            );
            found
        }
    };
    for projection in chosen {
        let mut display = Progress::new(format!("rebuild {}", projection.name()), "events", 0);
        projections::rebuild::rebuild(log, projection.as_ref(), |progress| {
            display.update(progress.events, progress.total);
        })
        .await
        .with_context(|| format!("rebuilding {}", projection.name()))?;
        display.finish();
    }
    Ok(())
}
