//! `POST /products`, `/products/{sku}/change-price`, `/products/{sku}/restock`.

use axum::extract::State;
use axum::response::Response;
use domain::input::{ChangePriceInput, DefineProductInput, RestockInput};
use domain::values::Sku;
use domain::{Product, ProductCommand};

use crate::error::ApiError;
use crate::execute::{Records, Reply};
use crate::request::{CommandRequest, PathId};
use crate::AppState;

fn path_sku(id: &str) -> Result<Sku, ApiError> {
    Sku::parse(id)
        .ok()
        .filter(|sku| sku.as_str() == id)
        .ok_or_else(|| ApiError::NotFound(format!("no product {id}")))
}

pub(crate) async fn define(
    State(state): State<AppState>,
    request: CommandRequest<DefineProductInput>,
) -> Result<Response, ApiError> {
    if let Some(replayed) = state.replay(&request.context).await? {
        return Ok(replayed);
    }
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

pub(crate) async fn change_price(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<ChangePriceInput>,
) -> Result<Response, ApiError> {
    path_sku(&id)?;
    if let Some(replayed) = state.replay(&request.context).await? {
        return Ok(replayed);
    }
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

pub(crate) async fn restock(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<RestockInput>,
) -> Result<Response, ApiError> {
    path_sku(&id)?;
    if let Some(replayed) = state.replay(&request.context).await? {
        return Ok(replayed);
    }
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
