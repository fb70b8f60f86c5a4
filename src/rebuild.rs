//! `oms projections rebuild NAME|--all`: a progress bar on a terminal, lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Context;
use event_store::EventLog;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use projections::rebuild::Progress;

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
        let started = Instant::now();
        let mut display = Display::new(projection.name());
        projections::rebuild::rebuild(log, projection.as_ref(), |progress| {
            display.update(progress);
        })
        .await
        .with_context(|| format!("rebuilding {}", projection.name()))?;
        display.finish(started.elapsed());
    }
    Ok(())
}

/// A progress bar (events/s, ETA) on a terminal; a line every few seconds otherwise.
enum Display {
    Bar(ProgressBar),
    Lines {
        name: &'static str,
        started: Instant,
        last: Instant,
        events: u64,
    },
}

impl Display {
    fn new(name: &'static str) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>12} [{bar:30}] {pos}/{len} events  {per_sec}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(name);
            Self::Bar(bar)
        } else {
            let now = Instant::now();
            Self::Lines {
                name,
                started: now,
                last: now,
                events: 0,
            }
        }
    }

    fn update(&mut self, progress: Progress) {
        match self {
            Self::Bar(bar) => {
                bar.set_length(progress.total);
                bar.set_position(progress.events);
            }
            Self::Lines {
                name,
                started,
                last,
                events,
            } => {
                *events = progress.events;
                if last.elapsed() >= Duration::from_secs(2) {
                    *last = Instant::now();
                    let rate = progress.events as f64 / started.elapsed().as_secs_f64().max(0.001);
                    eprintln!(
                        "rebuild {name}: {}/{} events ({rate:.0} events/s)",
                        progress.events, progress.total
                    );
                }
            }
        }
    }

    fn finish(self, took: Duration) {
        match self {
            Self::Bar(bar) => bar.finish_with_message("done"),
            Self::Lines { name, events, .. } => {
                let rate = events as f64 / took.as_secs_f64().max(0.001);
                eprintln!(
                    "rebuild {name}: done, {events} events in {:.1} s ({rate:.0} events/s)",
                    took.as_secs_f64()
                );
            }
        }
    }
}
