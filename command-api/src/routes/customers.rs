//! `POST /customers`, `/customers/{id}/rename`, `/customers/{id}/change-email`,
//! `/customers/{id}/addresses`.

use axum::extract::State;
use axum::response::Response;
use domain::input::{
    AddAddressInput, ChangeEmailInput, RegisterCustomerInput, RenameCustomerInput,
};
use domain::values::{Address, AddressId, CustomerId, Email, PersonName};
use domain::{Customer, CustomerCommand};

use super::path_uuid;
use crate::error::ApiError;
use crate::execute::{Command, CommandResponse};
use crate::request::{CommandRequest, PathId};
use crate::AppState;

#[utoipa::path(
    post,
    path = "/customers",
    tag = "customers",
    request_body(content = RegisterCustomerInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered. With a customer's token, the customer is the token's own (registered once; again is 409 invalid-transition); with staff's or admin's, a new one.", body = CommandResponse),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    request: CommandRequest<RegisterCustomerInput>,
) -> Result<Response, ApiError> {
    let (name, email) = request.input.validate()?;
    let email_owner = crate::records::email_owner(&state, email.normalized()).await?;
    let command = registration(
        &state,
        name,
        email,
        email_owner,
        request.context.only_customer,
    );
    state.execute(&request.context, command).await
}

/// `POST /customers`' command: a customer's token (`only_customer`) registers its own
/// customer (once: it may exist already); staff and admin a new one.
pub(crate) fn registration(
    state: &AppState,
    name: PersonName,
    email: Email,
    email_owner: Option<CustomerId>,
    only_customer: Option<CustomerId>,
) -> Command<'_, Customer> {
    let (customer_id, fresh) = match only_customer {
        Some(own) => (own, false),
        None => (CustomerId::new(), true),
    };
    let claim = email.normalized().to_owned();
    let register = CustomerCommand::Register {
        customer_id,
        name,
        email,
        email_owner,
    };
    let command = if fresh {
        Command::<Customer>::creating(&customer_id, register, &state.clock)
    } else {
        Command::<Customer>::new(&customer_id, register, &state.clock).answering_created()
    };
    command.claiming_email(&claim, customer_id)
}

#[utoipa::path(
    post,
    path = "/customers/{id}/rename",
    tag = "customers",
    request_body(content = RenameCustomerInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Customer id (UUID)")),
    responses(
        (status = 200, description = "Renamed", body = CommandResponse),
    )
)]
pub(crate) async fn rename(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<RenameCustomerInput>,
) -> Result<Response, ApiError> {
    let customer_id: CustomerId = path_uuid(&id)?;
    let name = request.input.validate()?;
    let rename = CustomerCommand::Rename { name };
    let command = Command::<Customer>::new(&customer_id, rename, &state.clock);
    state.execute(&request.context, command).await
}

#[utoipa::path(
    post,
    path = "/customers/{id}/change-email",
    tag = "customers",
    request_body(content = ChangeEmailInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Customer id (UUID)")),
    responses(
        (status = 200, description = "Email changed", body = CommandResponse),
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
    let claim = email.normalized().to_owned();
    let change = CustomerCommand::ChangeEmail { email, email_owner };
    let command = Command::<Customer>::new(&customer_id, change, &state.clock)
        .claiming_email(&claim, customer_id);
    state.execute(&request.context, command).await
}

#[utoipa::path(
    post,
    path = "/customers/{id}/addresses",
    tag = "customers",
    request_body(content = AddAddressInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Customer id (UUID)")),
    responses(
        (status = 201, description = "Address added; the body adds `address_id`", body = CommandResponse),
    )
)]
pub(crate) async fn add_address(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<AddAddressInput>,
) -> Result<Response, ApiError> {
    let customer_id: CustomerId = path_uuid(&id)?;
    let address = request.input.validate()?;
    let command = new_address(&state, customer_id, address);
    state.execute(&request.context, command).await
}

/// `POST /customers/{id}/addresses`' command, with the new address's id.
pub(crate) fn new_address(
    state: &AppState,
    customer_id: CustomerId,
    address: Address,
) -> Command<'_, Customer> {
    let address_id = AddressId::new();
    let add = CustomerCommand::AddAddress {
        address_id,
        address,
    };
    Command::<Customer>::new(&customer_id, add, &state.clock)
        .answering_created()
        .answering("address_id", address_id.to_string())
}
