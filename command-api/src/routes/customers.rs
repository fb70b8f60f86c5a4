//! `POST /customers`, `/customers/{id}/rename`, `/customers/{id}/change-email`,
//! `/customers/{id}/addresses`.

use axum::extract::State;
use axum::response::Response;
use domain::input::{
    AddAddressInput, ChangeEmailInput, RegisterCustomerInput, RenameCustomerInput,
};
use domain::values::{AddressId, CustomerId};
use domain::{Customer, CustomerCommand};

use super::path_uuid;
use crate::error::ApiError;
use crate::execute::{Records, Reply};
#[allow(unused_imports)]
use crate::openapi::{CommandResponse, Problem};
use crate::request::{CommandRequest, PathId};
use crate::AppState;

#[utoipa::path(
    post,
    path = "/customers",
    tag = "customers",
    request_body(content = RegisterCustomerInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = CommandResponse),
        (status = 409, description = "`email-taken`: another customer already has this email", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    request: CommandRequest<RegisterCustomerInput>,
) -> Result<Response, ApiError> {
    let (name, email) = request.input.validate()?;
    let email_owner = crate::records::email_owner(&state, email.normalized()).await?;
    let customer_id = CustomerId::new();
    let records = Records {
        email_claim: Some((email.normalized().to_owned(), customer_id)),
        fresh: true,
        ..Records::default()
    };
    let command = CustomerCommand::Register {
        customer_id,
        name,
        email,
        email_owner,
    };
    state
        .execute::<Customer>(
            &request.context,
            &customer_id.to_string(),
            command,
            &state.clock,
            Reply::created(&customer_id),
            records,
        )
        .await
}

#[utoipa::path(
    post,
    path = "/customers/{id}/rename",
    tag = "customers",
    request_body(content = RenameCustomerInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Customer id (UUID)")),
    responses(
        (status = 200, description = "Renamed", body = CommandResponse),
        (status = 404, description = "`not-found`: no such customer, or a malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn rename(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<RenameCustomerInput>,
) -> Result<Response, ApiError> {
    let customer_id: CustomerId = path_uuid(&id)?;
    let name = request.input.validate()?;
    state
        .execute::<Customer>(
            &request.context,
            &customer_id.to_string(),
            CustomerCommand::Rename { name },
            &state.clock,
            Reply::ok(&customer_id),
            Records::default(),
        )
        .await
}

#[utoipa::path(
    post,
    path = "/customers/{id}/change-email",
    tag = "customers",
    request_body(content = ChangeEmailInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Customer id (UUID)")),
    responses(
        (status = 200, description = "Email changed", body = CommandResponse),
        (status = 404, description = "`not-found`: no such customer, or a malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email-taken`: another customer already has this email", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn change_email(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<ChangeEmailInput>,
) -> Result<Response, ApiError> {
    let customer_id: CustomerId = path_uuid(&id)?;
    let email = request.input.validate()?;
    let email_owner = crate::records::email_owner(&state, email.normalized()).await?;
    let records = Records {
        email_claim: Some((email.normalized().to_owned(), customer_id)),
        ..Records::default()
    };
    let command = CustomerCommand::ChangeEmail { email, email_owner };
    state
        .execute::<Customer>(
            &request.context,
            &customer_id.to_string(),
            command,
            &state.clock,
            Reply::ok(&customer_id),
            records,
        )
        .await
}

#[utoipa::path(
    post,
    path = "/customers/{id}/addresses",
    tag = "customers",
    request_body(content = AddAddressInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Customer id (UUID)")),
    responses(
        (status = 201, description = "Address added; the body adds `address_id`", body = CommandResponse),
        (status = 404, description = "`not-found`: no such customer, or a malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-transition`: the customer has 20 addresses already", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn add_address(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<AddAddressInput>,
) -> Result<Response, ApiError> {
    let customer_id: CustomerId = path_uuid(&id)?;
    let address = request.input.validate()?;
    let address_id = AddressId::new();
    let reply = Reply::created(&customer_id).with("address_id", address_id.to_string());
    state
        .execute::<Customer>(
            &request.context,
            &customer_id.to_string(),
            CustomerCommand::AddAddress {
                address_id,
                address,
            },
            &state.clock,
            reply,
            Records::default(),
        )
        .await
}
