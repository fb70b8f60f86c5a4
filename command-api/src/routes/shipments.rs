//! `POST /shipments/{id}/dispatch`, `/shipments/{id}/deliver`.

use axum::extract::State;
use axum::response::Response;
use domain::input::DispatchShipmentInput;
use domain::values::{Carrier, ShipmentId, TrackingNumber};
use domain::{Shipment, ShipmentCommand, ShipmentStatus};
use serde::Deserialize;

use super::path_uuid;
use crate::error::ApiError;
use crate::execute::{Command, CommandResponse};
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
    )
)]
pub(crate) async fn dispatch(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<DispatchShipmentInput>,
) -> Result<Response, ApiError> {
    let shipment_id: ShipmentId = path_uuid(&id)?;
    let command = dispatching(&state, shipment_id, request.input.validate()?);
    state.execute(&request.context, command).await
}

/// `POST /shipments/{id}/dispatch`'s command: it claims the order's fate.
pub(crate) fn dispatching(
    state: &AppState,
    shipment_id: ShipmentId,
    (carrier, tracking_number): (Carrier, TrackingNumber),
) -> Command<'_, Shipment> {
    let dispatch = ShipmentCommand::Dispatch {
        carrier,
        tracking_number,
    };
    Command::<Shipment>::new(&shipment_id, dispatch, &state.clock)
        .answering("status", ShipmentStatus::Dispatched.as_str())
        .claiming_fate(shipment_id, Fate::Dispatched)
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
    )
)]
pub(crate) async fn deliver(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<DeliverInput>,
) -> Result<Response, ApiError> {
    let shipment_id: ShipmentId = path_uuid(&id)?;
    state
        .execute(&request.context, delivery(&state, shipment_id))
        .await
}

/// `POST /shipments/{id}/deliver`'s command.
pub(crate) fn delivery(state: &AppState, shipment_id: ShipmentId) -> Command<'_, Shipment> {
    Command::<Shipment>::new(&shipment_id, ShipmentCommand::Deliver, &state.clock)
        .answering("status", ShipmentStatus::Delivered.as_str())
}
