//! `POST /products`, `/products/{sku}/change-price`, `/products/{sku}/restock`.

use axum::extract::State;
use axum::response::Response;
use domain::input::{ChangePriceInput, DefineProductInput, RestockInput};
use domain::values::Sku;
use domain::{Product, ProductCommand};

use crate::error::ApiError;
use crate::execute::{Records, Reply};
#[allow(unused_imports)]
use crate::openapi::{CommandResponse, Problem};
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
        (status = 409, description = "`sku-taken`: a product with this sku exists", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn define(
    State(state): State<AppState>,
    request: CommandRequest<DefineProductInput>,
) -> Result<Response, ApiError> {
    let (sku, name, price, stock) = request.input.validate()?;
    let id = sku.to_string();
    let command = ProductCommand::Define {
        sku,
        name,
        price,
        stock,
    };
    state
        .execute::<Product>(
            &request.context,
            &id,
            command,
            &(),
            Reply::created(&id),
            Records::default(),
        )
        .await
}

#[utoipa::path(
    post,
    path = "/products/{id}/change-price",
    tag = "products",
    request_body(content = ChangePriceInput, content_type = "application/json"),
    params(("id" = String, Path, description = "The sku")),
    responses(
        (status = 200, description = "Price changed (later orders only)", body = CommandResponse),
        (status = 404, description = "`not-found`: no such product, or a malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn change_price(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<ChangePriceInput>,
) -> Result<Response, ApiError> {
    path_sku(&id)?;
    let price = request.input.validate()?;
    state
        .execute::<Product>(
            &request.context,
            &id,
            ProductCommand::ChangePrice { price },
            &(),
            Reply::ok(&id),
            Records::default(),
        )
        .await
}

#[utoipa::path(
    post,
    path = "/products/{id}/restock",
    tag = "products",
    request_body(content = RestockInput, content_type = "application/json"),
    params(("id" = String, Path, description = "The sku")),
    responses(
        (status = 200, description = "Restocked", body = CommandResponse),
        (status = 404, description = "`not-found`: no such product, or a malformed id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn restock(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<RestockInput>,
) -> Result<Response, ApiError> {
    path_sku(&id)?;
    let quantity = request.input.validate()?;
    state
        .execute::<Product>(
            &request.context,
            &id,
            ProductCommand::Restock { quantity },
            &(),
            Reply::ok(&id),
            Records::default(),
        )
        .await
}
