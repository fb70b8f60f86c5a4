//! `POST /orders`, `/orders/{id}/pay`, `/orders/{id}/cancel`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::response::Response;
use domain::input::OrderRequest;
use domain::input::{CancelOrderInput, PayOrderInput, PlaceOrderInput};
use domain::order::PlaceOrder;
use domain::values::{Money, OrderId, PaymentMethod, PaymentReference, Reason, ShipmentId};
use domain::{Customer, Order, OrderCommand, OrderStatus, Product};
use event_store::Loaded;

use super::path_uuid;
use crate::error::ApiError;
use crate::execute::{Command, CommandResponse};
use crate::records::Fate;
use crate::request::{CommandRequest, PathId};
use crate::AppState;

/// Validates, loads the customer and the named products from their aggregates, and places.
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
    let facts = PlacementFacts::load(&state, std::slice::from_ref(&order)).await?;
    let command = placement(&state, order, &facts);
    state.execute(&request.context, command).await
}

/// What placing orders reads from other aggregates: their customers and the products
/// their lines name, loaded from the aggregates (current prices, not a lagging read
/// model), one statement for each kind however many orders.
pub(crate) struct PlacementFacts {
    customers: HashMap<String, Loaded<Customer>>,
    products: HashMap<String, Loaded<Product>>,
}

impl PlacementFacts {
    pub(crate) async fn load(state: &AppState, orders: &[OrderRequest]) -> Result<Self, ApiError> {
        let customers: Vec<String> = orders.iter().map(|o| o.customer_id.to_string()).collect();
        let skus: Vec<String> = orders
            .iter()
            .flat_map(|o| o.lines.iter().map(|l| l.sku.to_string()))
            .collect();
        Ok(Self {
            customers: state.load_many::<Customer>(&customers).await?,
            products: state.load_many::<Product>(&skus).await?,
        })
    }
}

/// `POST /orders`' command, for a new order id, with the facts of its customer and
/// products (those that exist) from `facts`.
pub(crate) fn placement<'s>(
    state: &'s AppState,
    order: OrderRequest,
    facts: &PlacementFacts,
) -> Command<'s, Order> {
    let customer = facts
        .customers
        .get(&order.customer_id.to_string())
        .and_then(|loaded| loaded.aggregate.facts());
    let products = order
        .lines
        .iter()
        .filter_map(|line| {
            Some((
                line.sku.clone(),
                facts.products.get(line.sku.as_str())?.aggregate.facts()?,
            ))
        })
        .collect::<BTreeMap<_, _>>();
    let order_id = OrderId::new();
    let place = OrderCommand::Place(PlaceOrder {
        order_id,
        customer_id: order.customer_id,
        shipping_address_id: order.shipping_address_id,
        lines: order.lines,
        customer,
        products,
    });
    Command::<Order>::creating(&order_id, place, &state.clock)
        .answering("status", OrderStatus::Placed.as_str())
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
    let command = payment(&state, order_id, request.input.validate()?);
    state.execute(&request.context, command).await
}

/// `POST /orders/{id}/pay`'s command.
pub(crate) fn payment(
    state: &AppState,
    order_id: OrderId,
    (amount, method, reference): (Money, PaymentMethod, PaymentReference),
) -> Command<'_, Order> {
    let pay = OrderCommand::Pay {
        amount,
        method,
        reference,
    };
    Command::<Order>::new(&order_id, pay, &state.clock)
        .answering("status", OrderStatus::Paid.as_str())
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
    let command = cancellation(&state, order_id, request.input.validate()?);
    state.execute(&request.context, command).await
}

/// `POST /orders/{id}/cancel`'s command: it claims the order's fate.
pub(crate) fn cancellation(
    state: &AppState,
    order_id: OrderId,
    reason: Reason,
) -> Command<'_, Order> {
    let cancel = OrderCommand::Cancel { reason };
    Command::<Order>::new(&order_id, cancel, &state.clock)
        .answering("status", OrderStatus::Cancelled.as_str())
        .claiming_fate(ShipmentId::for_order(order_id), Fate::Cancelled)
}
