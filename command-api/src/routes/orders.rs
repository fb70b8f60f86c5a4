//! `POST /orders`, `/orders/{id}/pay`, `/orders/{id}/cancel`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use domain::input::{CancelOrderInput, PayOrderInput, PlaceOrderInput};
use domain::order::PlaceOrder;
use domain::values::OrderId;
use domain::{Customer, Order, OrderCommand, OrderStatus, Product};

use super::path_uuid;
use crate::error::ApiError;
use crate::execute::{Records, Reply};
use crate::request::{CommandRequest, PathId};
use crate::AppState;

/// Validates, loads the customer and the named products from their aggregates (current
/// prices, not a lagging read model; the products in one round trip), and places.
pub(crate) async fn place(
    State(state): State<AppState>,
    request: CommandRequest<PlaceOrderInput>,
) -> Result<Response, ApiError> {
    if let Some(replayed) = state.replay(&request.context).await? {
        return Ok(replayed);
    }
    let order = request.input.validate()?;
    let customer = state
        .load::<Customer>(&order.customer_id.to_string())
        .await?;
    let mut skus: Vec<String> = order.lines.iter().map(|l| l.sku.to_string()).collect();
    skus.sort_unstable();
    skus.dedup();
    let products = state.load_many::<Product>(&skus).await?;
    let products = order
        .lines
        .iter()
        .filter_map(|line| {
            Some((
                line.sku.clone(),
                products.get(line.sku.as_str())?.aggregate.facts()?,
            ))
        })
        .collect::<BTreeMap<_, _>>();
    let order_id = OrderId::new();
    let command = OrderCommand::Place(PlaceOrder {
        order_id,
        customer_id: order.customer_id,
        shipping_address_id: order.shipping_address_id,
        lines: order.lines,
        customer: customer.aggregate.facts(),
        products,
    });
    let reply = Reply::created(order_id).with("status", OrderStatus::Placed.as_str());
    state
        .execute::<Order>(
            &request.context,
            &order_id.to_string(),
            command,
            &state.clock,
            reply,
            Records::default(),
        )
        .await
}

pub(crate) async fn pay(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<PayOrderInput>,
) -> Result<Response, ApiError> {
    let order_id: OrderId = path_uuid(&id)?;
    if let Some(replayed) = state.replay(&request.context).await? {
        return Ok(replayed);
    }
    let (amount, method, reference) = request.input.validate()?;
    let reply = Reply::ok(order_id).with("status", OrderStatus::Paid.as_str());
    state
        .execute::<Order>(
            &request.context,
            &id,
            OrderCommand::Pay {
                amount,
                method,
                reference,
            },
            &state.clock,
            reply,
            Records::default(),
        )
        .await
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<CancelOrderInput>,
) -> Result<Response, ApiError> {
    let order_id: OrderId = path_uuid(&id)?;
    if let Some(replayed) = state.replay(&request.context).await? {
        return Ok(replayed);
    }
    let reason = request.input.validate()?;
    let reply = Reply::ok(order_id).with("status", OrderStatus::Cancelled.as_str());
    state
        .execute::<Order>(
            &request.context,
            &id,
            OrderCommand::Cancel { reason },
            &state.clock,
            reply,
            Records::default(),
        )
        .await
}
