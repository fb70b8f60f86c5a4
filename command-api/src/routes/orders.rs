//! `POST /orders`, `/orders/{id}/pay`, `/orders/{id}/cancel`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use domain::input::{CancelOrderInput, PayOrderInput, PlaceOrderInput};
use domain::order::PlaceOrder;
use domain::values::{OrderId, ShipmentId};
use domain::{Customer, Order, OrderCommand, OrderStatus, Product};

use super::path_uuid;
use crate::error::ApiError;
use crate::execute::{Command, CommandResponse};
use crate::records::Fate;
use crate::request::{CommandRequest, PathId};
use crate::AppState;

/// Validates, loads the customer and the named products from their aggregates (current
/// prices, not a lagging read model; the products in one round trip), and places.
#[utoipa::path(
    post,
    path = "/orders",
    tag = "orders",
    request_body(content = PlaceOrderInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Placed; `status` is PLACED", body = CommandResponse),
    )
)]
pub(crate) async fn place(
    State(state): State<AppState>,
    request: CommandRequest<PlaceOrderInput>,
) -> Result<Response, ApiError> {
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
    let place = OrderCommand::Place(PlaceOrder {
        order_id,
        customer_id: order.customer_id,
        shipping_address_id: order.shipping_address_id,
        lines: order.lines,
        customer: customer.aggregate.facts(),
        products,
    });
    let command = Command::<Order>::creating(&order_id, place, &state.clock)
        .answering("status", OrderStatus::Placed.as_str());
    state.execute(&request.context, command).await
}

#[utoipa::path(
    post,
    path = "/orders/{id}/pay",
    tag = "orders",
    request_body(content = PayOrderInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Order id (UUID)")),
    responses(
        (status = 200, description = "Paid; `status` is PAID", body = CommandResponse),
    )
)]
pub(crate) async fn pay(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<PayOrderInput>,
) -> Result<Response, ApiError> {
    let order_id: OrderId = path_uuid(&id)?;
    let (amount, method, reference) = request.input.validate()?;
    let pay = OrderCommand::Pay {
        amount,
        method,
        reference,
    };
    let command = Command::<Order>::new(&order_id, pay, &state.clock)
        .answering("status", OrderStatus::Paid.as_str());
    state.execute(&request.context, command).await
}

#[utoipa::path(
    post,
    path = "/orders/{id}/cancel",
    tag = "orders",
    request_body(content = CancelOrderInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Order id (UUID)")),
    responses(
        (status = 200, description = "Cancelled; `status` is CANCELLED", body = CommandResponse),
    )
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<CancelOrderInput>,
) -> Result<Response, ApiError> {
    let order_id: OrderId = path_uuid(&id)?;
    let reason = request.input.validate()?;
    let cancel = OrderCommand::Cancel { reason };
    let command = Command::<Order>::new(&order_id, cancel, &state.clock)
        .answering("status", OrderStatus::Cancelled.as_str())
        .claiming_fate(ShipmentId::for_order(order_id), Fate::Cancelled);
    state.execute(&request.context, command).await
}
