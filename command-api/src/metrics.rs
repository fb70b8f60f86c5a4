//! Commands by type and outcome, and how long they take: recorded around every command
//! route (the route table names the command).

use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, describe_counter, describe_histogram, histogram, Unit};

use crate::error::{ApiError, Refused};
use crate::records::Accepted;

/// Commands answered, by command and outcome (`accepted`, or the problem's slug).
pub const COMMANDS: &str = "oms_commands_total";
/// Seconds from a command's arrival to its answer, by command.
pub const COMMAND_DURATION: &str = "oms_command_duration_seconds";

/// Describes this crate's metrics to the installed recorder.
pub fn describe() {
    describe_counter!(
        COMMANDS,
        "Commands answered, by command and outcome (accepted, or the problem type's slug)."
    );
    describe_histogram!(
        COMMAND_DURATION,
        Unit::Seconds,
        "Time from a command's arrival to its answer, by command."
    );
}

pub(crate) async fn measure(
    State(command): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let outcome = match response.extensions().get::<Refused>() {
        Some(Refused(slug)) => *slug,
        None if response.status().is_success() => "accepted",
        None => "refused",
    };
    histogram!(COMMAND_DURATION, "command" => command).record(started.elapsed().as_secs_f64());
    counter!(COMMANDS, "command" => command, "outcome" => outcome).increment(1);
    response
}

/// Counts a command run without a route (`crate::bulk`) by its outcome.
pub(crate) fn counted(command: &'static str, answer: &Result<Accepted, ApiError>) {
    let outcome = match answer {
        Ok(_) => "accepted",
        Err(error) => error.problem().slug,
    };
    counter!(COMMANDS, "command" => command, "outcome" => outcome).increment(1);
}
