//! `oms projections status [--json]`.

use std::io::Write;

use anyhow::Context;
use event_store::EventLog;

pub async fn print(log: &EventLog, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let rows = projections::status::every_projection(log)
        .await
        .context("reading projection status")?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<20} {:>10} {:>10} {:>8}  {:<10} LAST ERROR",
        "NAME", "POSITION", "HEAD", "LAG", "STATE"
    )?;
    for row in rows {
        writeln!(
            out,
            "{:<20} {:>10} {:>10} {:>8}  {:<10} {}",
            row.name,
            row.position,
            row.head_position,
            row.lag,
            row.state,
            row.last_error.unwrap_or_default()
        )?;
    }
    Ok(())
}
