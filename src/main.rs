//! `oms`: runs the platform or one of its roles, and its operational commands.

use std::process::ExitCode;

use clap::Parser;
use oms::cli::{Cli, Command, EventsCommand, ProjectionsCommand};
use oms::database::Database;
use oms::{logging, serve, tail};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match logging::init() {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("oms: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("oms: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("oms: {error:#}");
            ExitCode::FAILURE
        }
    };
    drop(runtime);
    telemetry.shutdown();
    code
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Neither needs the database; serve's settings are checked before it starts one.
    let auth = match &cli.command {
        Command::Token(args) => return oms::token::print(args, &mut std::io::stdout()),
        Command::Healthcheck(args) => return oms::healthcheck::check(args).await,
        Command::Serve(args) => Some(serve::authenticator(args).await?),
        _ => None,
    };
    let db = Database::open(&cli.database).await?;
    let log = event_store::EventLog::new(db.pool.clone());
    let result = match cli.command {
        Command::Serve(args) => {
            let requests = event_store::EventLog::new(db.requests.clone());
            serve::serve(log, requests, &args, auth.unwrap_or_default()).await
        }
        Command::Migrate => event_store::migrate(&db.pool)
            .await
            .map(|()| tracing::info!("migrations applied"))
            .map_err(|e| anyhow::Error::new(e).context("applying migrations")),
        Command::Projections(ProjectionsCommand::Rebuild { name, all: _ }) => {
            oms::rebuild::rebuild(&log, name.as_deref()).await
        }
        Command::Projections(ProjectionsCommand::Status { json }) => {
            oms::status::print(&log, json, &mut std::io::stdout()).await
        }
        Command::Seed(args) => {
            let bulk = event_store::EventLog::new(db.bulk());
            let seeded = oms::seed::seed(&bulk, args.into()).await;
            bulk.pool().close().await;
            seeded
        }
        Command::Token(_) | Command::Healthcheck(_) => Ok(()),
        Command::Events(EventsCommand::Tail(args)) => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout());
            tail::tail(&log, args, &mut stdout, serve::shutdown_signal()).await
        }
    };
    // Stop the embedded server (when this process owns it) whatever happened above.
    db.close().await;
    result
}
