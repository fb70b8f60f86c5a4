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
use crate::execute::{Records, Reply};
#[allow(unused_imports)]
use crate::openapi::{CommandResponse, Problem};
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
        (status = 422, description = "`unknown-customer`: no such customer; `unknown-address`: the address is not the customer's; `unknown-sku`: a line names no product; `currency-mismatch`: lines in different currencies", body = Problem, content_type = "application/problem+json"),
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
    let command = OrderCommand::Place(PlaceOrder {
        order_id,
        customer_id: order.customer_id,
        shipping_address_id: order.shipping_address_id,
        lines: order.lines,
        customer: customer.aggregate.facts(),
        products,
    });
    let reply = Reply::created(&order_id).with("status", OrderStatus::Placed.as_str());
    state
        .execute::<Order>(
            &request.context,
            &order_id.to_string(),
            command,
            &state.clock,
            reply,
            Records {
                fresh: true,
                ..Records::default()
            },
        )
        .await
}

#[utoipa::path(
    post,
    path = "/orders/{id}/pay",
    tag = "orders",
    request_body(content = PayOrderInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Order id (UUID)")),
    responses(
        (status = 200, description = "Paid; `status` is PAID", body = CommandResponse),
        (status = 404, description = "`not-found`: no such order, or a malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-transition`: the order is not CONFIRMED", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`payment-mismatch`: the amount or currency differs from the order total", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn pay(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<PayOrderInput>,
) -> Result<Response, ApiError> {
    let order_id: OrderId = path_uuid(&id)?;
    let (amount, method, reference) = request.input.validate()?;
    let reply = Reply::ok(&order_id).with("status", OrderStatus::Paid.as_str());
    state
        .execute::<Order>(
            &request.context,
            &order_id.to_string(),
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

#[utoipa::path(
    post,
    path = "/orders/{id}/cancel",
    tag = "orders",
    request_body(content = CancelOrderInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Order id (UUID)")),
    responses(
        (status = 200, description = "Cancelled; `status` is CANCELLED", body = CommandResponse),
        (status = 404, description = "`not-found`: no such order, or a malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-transition`: the order is SHIPPED, DELIVERED, REJECTED or CANCELLED, or its shipment was dispatched", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<CancelOrderInput>,
) -> Result<Response, ApiError> {
    let order_id: OrderId = path_uuid(&id)?;
    let reason = request.input.validate()?;
    let reply = Reply::ok(&order_id).with("status", OrderStatus::Cancelled.as_str());
    state
        .execute::<Order>(
            &request.context,
            &order_id.to_string(),
            OrderCommand::Cancel { reason },
            &state.clock,
            reply,
            Records {
                fate: Some((ShipmentId::for_order(order_id), Fate::Cancelled)),
                ..Records::default()
            },
        )
        .await
}
