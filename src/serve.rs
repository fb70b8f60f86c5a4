//! `oms serve`: migrate, then serve the role's routes until SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use domain::clock::{SharedClock, SystemClock};
use event_store::EventLog;
use projections::runtime::{Runtime, RuntimeOptions};
use sqlx::migrate::MigrateError;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::{Role, ServeArgs};
use crate::ops::{self, OpsState};

/// The HTTP application of a role, with GraphQL's default options (see [`app_with`]).
pub fn app(role: Role, log: EventLog) -> Router {
    app_with(role, log, query_graphql::Options::default())
}

/// The HTTP application of a role. Every role serves the operational routes; `all` and
/// `command-api` serve the command routes; `all` and `query-graphql` serve GraphQL at
/// `/graphql` and `/graphql/ws` with `graphql` options. Unknown routes are a problem+json
/// 404.
pub fn app_with(role: Role, log: EventLog, graphql: query_graphql::Options) -> Router {
    let mut app = ops::router(OpsState {
        log: log.clone(),
        started: Instant::now(),
        runs_projectors: matches!(role, Role::All | Role::Projector),
    });
    if matches!(role, Role::All | Role::CommandApi) {
        let clock: SharedClock = Arc::new(SystemClock);
        app = app.merge(command_api::router(command_api::AppState::new(
            log.clone(),
            clock,
        )));
    }
    if matches!(role, Role::All | Role::QueryGraphql) {
        app = app.merge(query_graphql::router_with(log, graphql));
    }
    app.fallback(command_api::not_found)
}

/// Every read model and the order-fulfillment process manager, as roles `all` and
/// `projector` run them.
pub fn projectors(log: &EventLog) -> Runtime {
    let clock: SharedClock = Arc::new(SystemClock);
    let all = projections::all(log.clone(), clock);
    Runtime::new(log.clone(), all, RuntimeOptions::default())
}

/// Serves `args.role`: request paths (commands, GraphQL, ops) on `requests`, background
/// work (migrations, projectors) on `log`; both are the same database.
pub async fn serve(log: EventLog, requests: EventLog, args: &ServeArgs) -> anyhow::Result<()> {
    migrate_or_keep_trying(&log).await?;
    let listener = TcpListener::bind(args.http_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.http_addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, role = %args.role, "listening");
    let (stop, stopped) = watch::channel(false);
    let projectors = matches!(args.role, Role::All | Role::Projector)
        .then(|| projectors(&log).spawn_stopped_by(stop.clone()));
    let graphql = query_graphql::Options {
        allowed_origins: args.allowed_origins.clone(),
        shutdown: Some(stopped),
    };
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    let app = app_with(args.role, requests, graphql);
    crate::http::run(listener, app, shutdown, &crate::http::HttpLimits::default()).await?;
    if let Some(projectors) = projectors {
        // Each finishes or rolls back its batch in flight and releases its lock.
        projectors.join().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Applies migrations. If the database cannot be reached yet, keeps trying in the
/// background so the process still comes up (not ready) and recovers by itself; any other
/// migration failure (a changed or missing migration) stops start-up.
async fn migrate_or_keep_trying(log: &EventLog) -> anyhow::Result<()> {
    match event_store::migrate(log.pool()).await {
        Ok(()) => return Ok(()),
        Err(error) if is_unreachable(&error) => {
            tracing::warn!(%error, "database unreachable; will migrate when it answers");
        }
        Err(error) => return Err(anyhow::Error::new(error).context("applying migrations")),
    }
    let pool = log.pool().clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            match event_store::migrate(&pool).await {
                Ok(()) => {
                    tracing::info!("database reachable; migrations applied");
                    return;
                }
                Err(error) if is_unreachable(&error) => {
                    tracing::debug!(%error, "database still unreachable");
                }
                Err(error) => {
                    tracing::error!(%error, "applying migrations failed; the service stays not ready");
                    return;
                }
            }
        }
    });
    Ok(())
}

fn is_unreachable(error: &MigrateError) -> bool {
    matches!(error, MigrateError::Execute(error) if event_store::is_transient(error))
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
