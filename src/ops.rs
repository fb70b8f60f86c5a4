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

/// How long `/readyz` waits for the database before answering 503.
pub const READY_TIMEOUT: Duration = Duration::from_millis(900);

#[derive(Debug, Clone)]
pub struct OpsState {
    pub log: EventLog,
    pub started: Instant,
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

/// 200 only when the database answers and every migration is applied; else 503, in time.
async fn readyz(State(state): State<OpsState>) -> Response {
    let check =
        tokio::time::timeout(READY_TIMEOUT, event_store::is_migrated(state.log.pool())).await;
    let detail = match check {
        Ok(Ok(true)) => return Json(json!({ "status": "ready" })).into_response(),
        Ok(Ok(false)) => "the database schema is not migrated yet".to_owned(),
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

/// Prometheus text exposition.
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
        "oms_db_pool_connections",
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
            "oms_event_log_head_position",
            "Highest position in the event log.",
            &[("", head as f64)],
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
