//! Operational routes every role serves: `/healthz`, `/readyz`, `/metrics`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use event_store::EventLog;
use serde_json::json;

/// Readings `/metrics` takes at scrape time (besides what the recorder counted).
pub const PROJECTION_POSITION: &str = "oms_projection_position";
pub const PROJECTION_LAG: &str = "oms_projection_lag_events";
pub const PROJECTION_STATE: &str = "oms_projection_state";
pub const LOG_HEAD: &str = "oms_event_log_head_position";
pub const POOL_CONNECTIONS: &str = "oms_db_pool_connections";

/// How long `/readyz` waits for the database before answering 503.
pub const READY_TIMEOUT: Duration = Duration::from_millis(900);

#[derive(Debug, Clone)]
pub struct OpsState {
    pub log: EventLog,
    pub started: Instant,
    /// This process runs the projectors: one of them FAILED makes it not ready.
    pub runs_projectors: bool,
}

pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "alive" }))
}

/// 200 only when the database answers, every migration is applied and (in a process that
/// runs them) no projection has FAILED; else 503, in time. Failed projections are named
/// either way.
async fn readyz(State(state): State<OpsState>) -> Response {
    let check = tokio::time::timeout(READY_TIMEOUT, async {
        if !event_store::is_migrated(state.log.pool()).await? {
            return Ok(None);
        }
        failed_projections(&state.log).await.map(Some)
    })
    .await;
    let detail = match check {
        Ok(Ok(Some(failed))) if failed.is_empty() || !state.runs_projectors => {
            return Json(json!({ "status": "ready", "failed_projections": failed }))
                .into_response();
        }
        Ok(Ok(Some(failed))) => format!(
            "projection(s) FAILED: {}; see `oms projections status`, fix the cause and restart",
            failed.join(", ")
        ),
        Ok(Ok(None)) => "the database schema is not migrated yet".to_owned(),
        Ok(Err(error)) => {
            tracing::debug!(%error, "readiness check failed");
            "the database is unreachable".to_owned()
        }
        Err(_) => "the database did not answer in time".to_owned(),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(json!({
            "type": "/problems/service-unavailable",
            "title": "Service unavailable",
            "status": 503,
            "detail": detail,
        })),
    )
        .into_response()
}

fn borrowed(samples: &[(String, f64)]) -> Vec<(&str, f64)> {
    samples.iter().map(|(l, v)| (l.as_str(), *v)).collect()
}

/// The projections in state FAILED.
async fn failed_projections(log: &EventLog) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM projection_checkpoints WHERE state = $1 ORDER BY name")
        .bind(projections::status::FAILED)
        .fetch_all(log.pool())
        .await
}

/// Prometheus text exposition: readings taken now (database pool, log head, each
/// projection's position, lag and state, from the checkpoints any process may own), then
/// everything the recorder counted ([`crate::metrics`]).
async fn metrics(State(state): State<OpsState>) -> Response {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(&str, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    gauge("oms_up", "1 while the process runs.", &[("", 1.0)]);
    gauge(
        "oms_uptime_seconds",
        "Seconds since the process started.",
        &[("", state.started.elapsed().as_secs_f64())],
    );
    let pool = state.log.pool();
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    gauge(
        POOL_CONNECTIONS,
        "Database pool connections by state.",
        &[
            ("{state=\"idle\"}", f64::from(idle)),
            ("{state=\"in_use\"}", f64::from(size.saturating_sub(idle))),
        ],
    );
    let head = tokio::time::timeout(READY_TIMEOUT, state.log.head_position()).await;
    if let Ok(Ok(head)) = head {
        // Positions stay far below 2^53, so the float is exact.
        #[allow(clippy::cast_precision_loss)]
        gauge(
            LOG_HEAD,
            "Highest position in the event log.",
            &[("", head as f64)],
        );
    }
    let projections = tokio::time::timeout(
        READY_TIMEOUT,
        projections::status::every_projection(&state.log),
    )
    .await;
    if let Ok(Ok(projections)) = projections {
        let label =
            |p: &projections::status::ProjectionStatus| format!("{{projection=\"{}\"}}", p.name);
        // Positions and lags stay far below 2^53, so the floats are exact.
        #[allow(clippy::cast_precision_loss)]
        let positions: Vec<(String, f64)> = projections
            .iter()
            .map(|p| (label(p), p.position as f64))
            .collect();
        #[allow(clippy::cast_precision_loss)]
        let lags: Vec<(String, f64)> = projections
            .iter()
            .map(|p| (label(p), p.lag as f64))
            .collect();
        let states: Vec<(String, f64)> = projections
            .iter()
            .flat_map(|p| {
                projections::status::STATES.iter().map(move |s| {
                    let value = if p.state == *s { 1.0 } else { 0.0 };
                    (
                        format!("{{projection=\"{}\",state=\"{s}\"}}", p.name),
                        value,
                    )
                })
            })
            .collect();
        gauge(
            PROJECTION_POSITION,
            "Log position of the last event each projection applied.",
            &borrowed(&positions),
        );
        gauge(
            PROJECTION_LAG,
            "Committed events each projection has not applied yet.",
            &borrowed(&lags),
        );
        gauge(
            PROJECTION_STATE,
            "1 for the state each projection is in (RUNNING, RETRYING, REBUILDING, STOPPED, FAILED).",
            &borrowed(&states),
        );
    }
    out.push_str(&crate::metrics::render());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
