//! Progress of a long command: a bar (rate, ETA) on a terminal, a line every few seconds
//! otherwise (logs, CI).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain display prints a line.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// One step's progress: `done` of `total` `unit`s (events, orders).
#[derive(Debug)]
pub struct Progress {
    label: String,
    unit: &'static str,
    started: Instant,
    done: u64,
    total: u64,
    display: Display,
}

#[derive(Debug)]
enum Display {
    Bar(ProgressBar),
    Lines { last: Instant },
}

impl Progress {
    /// Starts a step on stderr.
    pub fn new(label: impl Into<String>, unit: &'static str, total: u64) -> Self {
        let label = label.into();
        let display = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{prefix:>20}} [{{bar:30}}] {{pos}}/{{len}} {unit}  {{per_sec}}  ETA {{eta}}"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(label.clone());
            Display::Bar(bar)
        } else {
            Display::Lines {
                last: Instant::now(),
            }
        };
        Self {
            label,
            unit,
            started: Instant::now(),
            done: 0,
            total,
            display,
        }
    }

    /// `done` of `total` now.
    pub fn update(&mut self, done: u64, total: u64) {
        self.done = done;
        self.total = total;
        match &mut self.display {
            Display::Bar(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            Display::Lines { last } => {
                if last.elapsed() >= LINE_EVERY {
                    *last = Instant::now();
                    eprintln!(
                        "{}: {done}/{total} {} ({:.0}/s)",
                        self.label,
                        self.unit,
                        self.rate()
                    );
                }
            }
        }
    }

    /// `n` more done.
    pub fn advance(&mut self, n: u64) {
        let done = self.done + n;
        self.update(done, self.total.max(done));
    }

    /// Ends the step, saying how long it took.
    pub fn finish(self) {
        let took = self.started.elapsed();
        match self.display {
            Display::Bar(bar) => bar.finish_with_message("done"),
            Display::Lines { .. } => eprintln!(
                "{}: done, {} {} in {:.1} s ({:.0}/s)",
                self.label,
                self.done,
                self.unit,
                took.as_secs_f64(),
                self.rate()
            ),
        }
    }

    // Counts stay far below 2^53.
    #[allow(clippy::cast_precision_loss)]
    fn rate(&self) -> f64 {
        self.done as f64 / self.started.elapsed().as_secs_f64().max(0.001)
    }
}
