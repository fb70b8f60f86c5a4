//! The table of the `shipments` read model.

use chrono::{DateTime, Utc};
use domain::shipment::ShipmentStatus;
use uuid::Uuid;

use super::{table, Status};

table! {
    /// One shipment with its address and progress.
    ShipmentRow in "shipments" keyed by (id) {
        id: Uuid,
        order_id: Uuid,
        status: Status<ShipmentStatus>,
        address_id: Uuid,
        address_label: Option<String>,
        address_line1: String,
        address_line2: Option<String>,
        address_city: String,
        address_postal_code: String,
        address_country: String,
        carrier: Option<String>,
        tracking_number: Option<String>,
        created_at: DateTime<Utc>,
        dispatched_at: Option<DateTime<Utc>>,
        delivered_at: Option<DateTime<Utc>>,
        cancelled_at: Option<DateTime<Utc>>,
        version: i64,
    }
}
