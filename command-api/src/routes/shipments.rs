//! `POST /shipments/{id}/dispatch`, `/shipments/{id}/deliver`.

use axum::extract::State;
use axum::response::Response;
use domain::input::DispatchShipmentInput;
use domain::values::ShipmentId;
use domain::{Shipment, ShipmentCommand, ShipmentStatus};
use serde::Deserialize;

use super::path_uuid;
use crate::error::ApiError;
use crate::execute::{Records, Reply};
#[allow(unused_imports)]
use crate::openapi::{CommandResponse, Problem};
use crate::records::Fate;
use crate::request::{CommandRequest, PathId};
use crate::AppState;

#[utoipa::path(
    post,
    path = "/shipments/{id}/dispatch",
    tag = "shipments",
    request_body(content = DispatchShipmentInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Shipment id (UUID)")),
    responses(
        (status = 200, description = "Dispatched; `status` is DISPATCHED", body = CommandResponse),
        (status = 404, description = "`not-found`: no such shipment, or a malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-transition`: the shipment is not PENDING, or its order was cancelled", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn dispatch(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<DispatchShipmentInput>,
) -> Result<Response, ApiError> {
    let shipment_id: ShipmentId = path_uuid(&id)?;
    let (carrier, tracking_number) = request.input.validate()?;
    let reply = Reply::ok(&shipment_id).with("status", ShipmentStatus::Dispatched.as_str());
    let command = ShipmentCommand::Dispatch {
        carrier,
        tracking_number,
    };
    let records = Records {
        fate: Some((shipment_id, Fate::Dispatched)),
        ..Records::default()
    };
    state
        .execute::<Shipment>(
            &request.context,
            &shipment_id.to_string(),
            command,
            &state.clock,
            reply,
            records,
        )
        .await
}

/// `{}`: delivery takes no fields.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct DeliverInput {}

#[utoipa::path(
    post,
    path = "/shipments/{id}/deliver",
    tag = "shipments",
    request_body(content = DeliverInput, content_type = "application/json"),
    params(("id" = String, Path, description = "Shipment id (UUID)")),
    responses(
        (status = 200, description = "Delivered; `status` is DELIVERED", body = CommandResponse),
        (status = 404, description = "`not-found`: no such shipment, or a malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid-transition`: the shipment is not DISPATCHED", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn deliver(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<DeliverInput>,
) -> Result<Response, ApiError> {
    let shipment_id: ShipmentId = path_uuid(&id)?;
    let reply = Reply::ok(&shipment_id).with("status", ShipmentStatus::Delivered.as_str());
    state
        .execute::<Shipment>(
            &request.context,
            &shipment_id.to_string(),
            ShipmentCommand::Deliver,
            &state.clock,
            reply,
            Records::default(),
        )
        .await
}
