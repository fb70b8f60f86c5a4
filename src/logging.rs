//! Logging: `RUST_LOG` filters (default `info`); `OMS_LOG_FORMAT` picks `pretty` or `json`,
//! by default `pretty` on a terminal and `json` otherwise. Logs go to stderr, so command
//! output on stdout (`oms events tail`) stays clean.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `info`, without PostgreSQL's notices such as "relation already exists, skipping".
const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn";

pub fn init() -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = match std::env::var("OMS_LOG_FORMAT").ok().as_deref() {
        Some("json") => true,
        Some("pretty") => false,
        None | Some("") => !std::io::stderr().is_terminal(),
        Some(other) => anyhow::bail!("OMS_LOG_FORMAT must be `pretty` or `json`, not `{other}`"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().with_current_span(false).init();
    } else {
        builder.init();
    }
    Ok(())
}
