//! The `oms` command line (see CONTRACT: Programs and configuration).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "oms", version, about = "OMS: an event-sourced order platform")]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the database is: `DATABASE_URL`, else an embedded server in `OMS_DATA_DIR`.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL; when unset, an embedded PostgreSQL is started from the machine's binaries.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the embedded PostgreSQL keeps its data (in `<dir>/pg`).
    #[arg(long, env = "OMS_DATA_DIR", default_value = "./.oms", global = true)]
    pub data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the platform: migrate, then serve until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Apply the SQL migrations in schemas/migrations.
    Migrate,
    /// Read the event log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Inspect the projections.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Fill the database with demo data through the command API (deterministic per seed).
    Seed(SeedArgs),
    /// Exit 0 when the `oms serve` at OMS_HTTP_ADDR is ready (for container health checks).
    Healthcheck(HealthcheckArgs),
    /// Print a signed JWT for development (key: OMS_JWT_SECRET or OMS_JWT_PRIVATE_KEY_FILE).
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The address the service listens on (a wildcard address is probed on loopback).
    #[arg(long, env = "OMS_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// The route to ask.
    #[arg(long, default_value = "/readyz")]
    pub path: String,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct SeedArgs {
    /// Customers to register (each with one to three addresses).
    #[arg(long, default_value_t = 200)]
    pub customers: usize,
    /// Products to define (about one in twenty sold out).
    #[arg(long, default_value_t = 100)]
    pub products: usize,
    /// Orders to place, spread over every status.
    #[arg(long, default_value_t = 2_000)]
    pub orders: usize,
    /// The same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl From<SeedArgs> for crate::seed::plan::Sizes {
    fn from(args: SeedArgs) -> Self {
        Self {
            customers: args.customers,
            products: args.products,
            orders: args.orders,
            seed: args.seed,
        }
    }
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The token's role.
    #[arg(long, value_enum)]
    pub role: TokenRole,
    /// The customer a customer token acts as (`oms.customer_id`); without it, the
    /// customer derived from the token's issuer and subject.
    #[arg(long)]
    pub customer: Option<domain::values::CustomerId>,
    /// The token's subject (`sub`); `dev-<role>` when omitted.
    #[arg(long)]
    pub sub: Option<String>,
    /// How long the token is valid, like `1h`, `30m`, `7d`.
    #[arg(long, default_value = "1h")]
    pub ttl: humantime::Duration,
}

/// The roles a token can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenRole {
    Admin,
    Staff,
    Customer,
}

impl From<TokenRole> for auth::Role {
    fn from(role: TokenRole) -> Self {
        match role {
            TokenRole::Admin => Self::Admin,
            TokenRole::Staff => Self::Staff,
            TokenRole::Customer => Self::Customer,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// One row per projection: name, checkpoint position, head position, lag, state, last error.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild from position 0 beside the live tables, then swap atomically (no downtime).
    Rebuild {
        /// The projection to rebuild.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Rebuild every projection.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Which part of the platform this process runs.
    #[arg(long, value_enum, default_value_t = Role::All)]
    pub role: Role,
    /// Listen address.
    #[arg(long, env = "OMS_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// Browser origins besides the service's own that may call the command routes and
    /// GraphQL, and open /graphql/ws (comma-separated, like `https://shop.example`).
    #[arg(long, env = "OMS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// NATS server(s) to publish the log to through JetStream (roles `all` and `relay`);
    /// unset: no relay.
    #[arg(long, env = "OMS_NATS_URL")]
    pub nats_url: Option<String>,
    /// The JetStream stream the relay publishes into (created when missing).
    #[arg(long, env = "OMS_NATS_STREAM", default_value = relay::DEFAULT_STREAM)]
    pub nats_stream: String,
}

impl ServeArgs {
    /// Where the relay publishes, when this process runs it: role `relay` (which needs
    /// `OMS_NATS_URL`), or `all` with `OMS_NATS_URL` set.
    pub fn relay(&self) -> anyhow::Result<Option<relay::Settings>> {
        let url = match (self.role, &self.nats_url) {
            (Role::Relay, None) => anyhow::bail!(
                "role relay publishes to NATS: set OMS_NATS_URL (like nats://127.0.0.1:4222)"
            ),
            (Role::Relay | Role::All, Some(url)) => url.clone(),
            _ => return Ok(None),
        };
        relay::stream::check_name(&self.nats_stream)?;
        Ok(Some(relay::Settings {
            url,
            stream: self.nats_stream.clone(),
        }))
    }
}

/// The parts of the platform a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Command API, GraphQL, projectors and process managers on one listener.
    All,
    /// The command API only.
    CommandApi,
    /// The GraphQL query service only.
    QueryGraphql,
    /// Projectors and process managers; serves only /healthz, /readyz and /metrics.
    Projector,
    /// The relay to NATS JetStream (needs OMS_NATS_URL); serves only /healthz, /readyz
    /// and /metrics.
    Relay,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = self.to_possible_value().ok_or(std::fmt::Error)?;
        f.write_str(value.get_name())
    }
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print events as JSON lines in log order.
    Tail(TailArgs),
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Start after the event at this position (0: from the start).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    pub from: i64,
    /// Keep printing new events as they commit.
    #[arg(long)]
    pub follow: bool,
    /// Only events of this type.
    #[arg(long = "type", value_name = "EVENT_TYPE")]
    pub event_type: Option<String>,
}
