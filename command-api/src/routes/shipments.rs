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
use crate::request::{CommandRequest, PathId};
use crate::AppState;

pub(crate) async fn dispatch(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<DispatchShipmentInput>,
) -> Result<Response, ApiError> {
    let shipment_id: ShipmentId = path_uuid(&id)?;
    if let Some(replayed) = state.replay(&request.context).await? {
        return Ok(replayed);
    }
    let (carrier, tracking_number) = request.input.validate()?;
    let reply = Reply::ok(shipment_id).with("status", ShipmentStatus::Dispatched.as_str());
    let command = ShipmentCommand::Dispatch {
        carrier,
        tracking_number,
    };
    state
        .execute::<Shipment>(
            &request.context,
            &id,
            command,
            &state.clock,
            reply,
            Records::default(),
        )
        .await
}

/// `{}`: delivery takes no fields.
#[derive(Debug, Deserialize)]
pub(crate) struct DeliverInput {}

pub(crate) async fn deliver(
    State(state): State<AppState>,
    PathId(id): PathId,
    request: CommandRequest<DeliverInput>,
) -> Result<Response, ApiError> {
    let shipment_id: ShipmentId = path_uuid(&id)?;
    if let Some(replayed) = state.replay(&request.context).await? {
        return Ok(replayed);
    }
    let reply = Reply::ok(shipment_id).with("status", ShipmentStatus::Delivered.as_str());
    state
        .execute::<Shipment>(
            &request.context,
            &id,
            ShipmentCommand::Deliver,
            &state.clock,
            reply,
            Records::default(),
        )
        .await
}
