//! `oms serve`: migrate, then serve the role's routes until SIGINT/SIGTERM.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth::{AuthSettings, Authenticator};
use axum::Router;
use domain::clock::{SharedClock, SystemClock};
use event_store::EventLog;
use projections::runtime::{Runtime, RuntimeOptions};
use sqlx::migrate::MigrateError;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::{Role, ServeArgs};
use crate::ops::{self, OpsState};

/// How the HTTP services meet their callers: authentication, the browser origins
/// allowed besides their own, and the process's shutdown (closes sockets).
#[derive(Debug, Clone, Default)]
pub struct Front {
    pub auth: Authenticator,
    pub allowed_origins: Vec<String>,
    pub shutdown: Option<watch::Receiver<bool>>,
}

/// The HTTP application of a role, open (authentication off), for its own origin only.
pub fn app(role: Role, log: EventLog) -> Router {
    app_with(role, log, Front::default())
}

/// The HTTP application of a role. Every role serves the operational routes (always
/// open); `all` and `command-api` serve the command routes; `all` and `query-graphql`
/// serve GraphQL at `/graphql` and `/graphql/ws`; both with `front`'s authentication and
/// CORS. Unknown routes are a problem+json 404.
pub fn app_with(role: Role, log: EventLog, front: Front) -> Router {
    let Front {
        auth,
        allowed_origins,
        shutdown,
    } = front;
    let mut app = ops::router(OpsState {
        log: log.clone(),
        started: Instant::now(),
        runs_projectors: matches!(role, Role::All | Role::Projector | Role::Relay),
    });
    if matches!(role, Role::All | Role::CommandApi) {
        let clock: SharedClock = Arc::new(SystemClock);
        let state = command_api::AppState::new(log.clone(), clock).authenticated_by(auth.clone());
        let commands = crate::browsers::guarded(command_api::router(state), &allowed_origins);
        app = app.merge(commands);
    }
    if matches!(role, Role::All | Role::QueryGraphql) {
        let graphql = query_graphql::Options {
            auth,
            allowed_origins: allowed_origins.clone(),
            shutdown,
        };
        let graphql = query_graphql::router_with(log, graphql);
        app = app.merge(crate::browsers::guarded(graphql, &allowed_origins));
    }
    crate::metrics::install();
    let app = crate::observe::routes(app).fallback(command_api::not_found);
    crate::observe::requests(app)
}

/// The authentication of `oms serve` on `args.http_addr`, from `OMS_AUTH` and
/// `OMS_JWT_*`: refuses an unset `OMS_AUTH` on a non-loopback address, and a missing or
/// ambiguous key.
pub async fn authenticator(args: &ServeArgs) -> anyhow::Result<Authenticator> {
    let settings = AuthSettings::from_env()?;
    let auth = settings.authenticator(args.http_addr).await?;
    tracing::info!(
        auth = if auth.is_on() { "jwt" } else { "off" },
        "authentication"
    );
    Ok(auth)
}

/// Every read model and the order-fulfillment process manager, as roles `all` and
/// `projector` run them.
pub fn projectors(log: &EventLog) -> Runtime {
    let clock: SharedClock = Arc::new(SystemClock);
    let all = projections::all(log.clone(), clock);
    Runtime::new(log.clone(), all, RuntimeOptions::default())
}

/// The relay publishing to `settings`, on a runtime of its own (its own batch size).
pub async fn relay(log: &EventLog, settings: relay::Settings) -> anyhow::Result<Runtime> {
    let relay = relay::Relay::connect(settings).await?;
    Ok(Runtime::new(
        log.clone(),
        vec![Arc::new(relay)],
        relay::options(),
    ))
}

/// Serves `args.role` with `auth`: request paths (commands, GraphQL, ops) on `requests`,
/// background work (migrations, projectors) on `log`; both are the same database.
pub async fn serve(
    log: EventLog,
    requests: EventLog,
    args: &ServeArgs,
    auth: Authenticator,
) -> anyhow::Result<()> {
    let relay_settings = args.relay()?;
    crate::metrics::install();
    crate::metrics::spawn_upkeep();
    migrate_or_keep_trying(&log).await?;
    let listener = TcpListener::bind(args.http_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.http_addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, role = %args.role, "listening");
    let (stop, stopped) = watch::channel(false);
    let projectors = matches!(args.role, Role::All | Role::Projector)
        .then(|| projectors(&log).spawn_stopped_by(stop.clone()));
    let relay = match relay_settings {
        Some(settings) => {
            tracing::info!(url = %settings.url, stream = %settings.stream, "relaying the log to NATS JetStream");
            Some(relay(&log, settings).await?.spawn_stopped_by(stop.clone()))
        }
        None => None,
    };
    let front = Front {
        auth,
        allowed_origins: args.allowed_origins.clone(),
        shutdown: Some(stopped),
    };
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    };
    let app = app_with(args.role, requests, front);
    crate::http::run(listener, app, shutdown, &crate::http::HttpLimits::default()).await?;
    // Each finishes or rolls back its batch in flight and releases its lock.
    if let Some(projectors) = projectors {
        projectors.join().await;
    }
    if let Some(relay) = relay {
        relay.join().await;
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
