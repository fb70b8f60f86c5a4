//! `POST /products`, `/products/{sku}/change-price`, `/products/{sku}/restock`.

use axum::extract::State;
use axum::response::Response;
use domain::input::{ChangePriceInput, DefineProductInput, RestockInput};
use domain::values::{Money, ProductName, Sku, StockLevel};
use domain::{Product, ProductCommand};

use crate::error::ApiError;
use crate::execute::{Command, CommandResponse};
use crate::request::{CommandRequest, PathId};
use crate::AppState;

fn path_sku(id: &str) -> Result<Sku, ApiError> {
    Sku::parse(id)
        .ok()
        .filter(|sku| sku.as_str() == id)
        .ok_or_else(|| ApiError::NotFound(format!("no product {id}")))
}

#[utoipa::path(
    post,
    path = "/products",
    tag = "products",
    request_body(content = DefineProductInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Defined; `id` is the sku", body = CommandResponse),
    )
)]
pub(crate) async fn define(
    State(state): State<AppState>,
    request: CommandRequest<DefineProductInput>,
) -> Result<Response, ApiError> {
    let command = definition(request.input.validate()?);
    state.execute(&request.context, command).await
}

/// `POST /products`' command.
pub(crate) fn definition(
    (sku, name, price, stock): (Sku, ProductName, Money, StockLevel),
) -> Command<'static, Product> {
    let id = sku.to_string();
    let define = ProductCommand::Define {
        sku,
        name,
        price,
        stock,
    };
    // Not `creating`: the sku is the client's, and may be taken.
    Command::<Product>::new(&id, define, &()).answering_created()
}

#[utoipa::path(
    post,
    path = "/products/{id}/change-price",
    tag = "products",
    request_body(content = ChangePriceInput, content_type = "application/json"),
    params(("id" = String, Path, description = "The sku")),
    responses(
        (status = 200, description = "Price changed (later orders only)", body = CommandResponse),
    )
)]
pub(crate) async fn change_price(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<ChangePriceInput>,
) -> Result<Response, ApiError> {
    path_sku(&id)?;
    let price = request.input.validate()?;
    let command = Command::<Product>::new(&id, ProductCommand::ChangePrice { price }, &());
    state.execute(&request.context, command).await
}

#[utoipa::path(
    post,
    path = "/products/{id}/restock",
    tag = "products",
    request_body(content = RestockInput, content_type = "application/json"),
    params(("id" = String, Path, description = "The sku")),
    responses(
        (status = 200, description = "Restocked", body = CommandResponse),
    )
)]
pub(crate) async fn restock(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<RestockInput>,
) -> Result<Response, ApiError> {
    path_sku(&id)?;
    let quantity = request.input.validate()?;
    let command = Command::<Product>::new(&id, ProductCommand::Restock { quantity }, &());
    state.execute(&request.context, command).await
}
