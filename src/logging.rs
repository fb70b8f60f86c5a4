//! Logging and tracing: `RUST_LOG` filters (default `info`); `OMS_LOG_FORMAT` picks
//! `pretty` or `json`, by default `pretty` on a terminal and `json` otherwise. Logs go to
//! stderr, so command output on stdout (`oms events tail`) stays clean.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, the
//! same spans are exported as OpenTelemetry traces over OTLP/HTTP (protobuf), in batches;
//! the exporter reads the standard `OTEL_*` variables, and the service is named by
//! `OTEL_SERVICE_NAME` (default `oms`).

use std::io::IsTerminal;

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// `info`, without PostgreSQL's notices such as "relation already exists, skipping".
const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn";

/// The trace exporter, if one runs; [`Telemetry::shutdown`] sends what is left.
#[derive(Debug)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered, then stops the exporter.
    pub fn shutdown(self) {
        if let Some(traces) = self.traces {
            if let Err(error) = traces.shutdown() {
                eprintln!("oms: exporting the last traces failed: {error}");
            }
        }
    }
}

pub fn init() -> anyhow::Result<Telemetry> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = match std::env::var("OMS_LOG_FORMAT").ok().as_deref() {
        Some("json") => true,
        Some("pretty") => false,
        None | Some("") => !std::io::stderr().is_terminal(),
        Some(other) => anyhow::bail!("OMS_LOG_FORMAT must be `pretty` or `json`, not `{other}`"),
    };
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = if json {
        logs.json().with_current_span(false).boxed()
    } else {
        logs.boxed()
    };
    let traces = trace_exporter()?;
    let otel = traces
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("oms")));
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(otel)
        .init();
    Ok(Telemetry { traces })
}

/// The OTLP trace pipeline, when an endpoint is configured.
fn trace_exporter() -> anyhow::Result<Option<SdkTracerProvider>> {
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if !configured {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .context("setting up the OTLP trace exporter")?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "oms".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service).build())
        .with_batch_exporter(exporter)
        .build();
    Ok(Some(provider))
}
