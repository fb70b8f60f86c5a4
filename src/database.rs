//! Opening the database: `DATABASE_URL`, or the embedded server in `OMS_DATA_DIR`.

use anyhow::Context;
use event_store::embedded::{self, Durability, EmbeddedPostgres};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

use crate::cli::DatabaseArgs;

/// The database of one `oms` process, and the embedded server behind it if any.
#[derive(Debug)]
pub struct Database {
    /// Background work: projectors, rebuilds, tools (no statement timeout).
    pub pool: PgPool,
    /// Request paths: commands and GraphQL, with statement and lock timeouts.
    pub requests: PgPool,
    options: PgConnectOptions,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects lazily: with an external server that is down, services still start and
    /// report not-ready until it answers.
    pub async fn open(args: &DatabaseArgs) -> anyhow::Result<Self> {
        let (options, embedded) = match &args.database_url {
            Some(url) => {
                let options: PgConnectOptions = url
                    .parse()
                    .context("DATABASE_URL is not a valid PostgreSQL URL")?;
                (options, None)
            }
            None => {
                let root = args.data_dir.clone();
                let server = tokio::task::spawn_blocking(move || {
                    EmbeddedPostgres::start(&root, Durability::Full)
                })
                .await
                .context("starting the embedded PostgreSQL")??;
                let options = server.connect_options(embedded::DATABASE);
                if let Err(error) = embedded::ensure_database(&options, embedded::DATABASE).await {
                    let _ = tokio::task::spawn_blocking(move || server.stop()).await;
                    return Err(error)
                        .context("creating the oms database in the embedded PostgreSQL");
                }
                tracing::info!(
                    url = %server.display_url(embedded::DATABASE),
                    owner = server.is_owner(),
                    "embedded PostgreSQL is up"
                );
                (options, Some(server))
            }
        };
        let pool = event_store::pool_options()
            .max_connections(16)
            .connect_lazy_with(event_store::session_limits(options.clone()));
        let requests = event_store::pool_options()
            .connect_lazy_with(event_store::request_limits(options.clone()));
        Ok(Self {
            pool,
            requests,
            options,
            embedded,
        })
    }

    /// A pool for bulk loads (`oms seed`) whose commits do not wait for the disk
    /// (`synchronous_commit = off`): a crash may lose the last moments of the load, never
    /// a transaction's consistency. Everything else commits durably.
    pub fn bulk(&self) -> PgPool {
        event_store::pool_options()
            .max_connections(40)
            .connect_lazy_with(
                event_store::session_limits(self.options.clone())
                    .options([("synchronous_commit", "off")]),
            )
    }

    /// Closes the pool and stops the embedded server if this process started it.
    pub async fn close(self) {
        self.requests.close().await;
        self.pool.close().await;
        if let Some(server) = self.embedded {
            match tokio::task::spawn_blocking(move || server.stop()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "could not stop the embedded PostgreSQL"),
                Err(error) => tracing::error!(%error, "could not stop the embedded PostgreSQL"),
            }
        }
    }
}
