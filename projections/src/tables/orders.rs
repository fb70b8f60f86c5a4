//! The tables of the `orders` read model: the enriched order view, its lines and history,
//! and the customers' names and emails it copies into each order.

use chrono::{DateTime, Utc};
use domain::order::OrderStatus;
use domain::shipment::ShipmentStatus;
use uuid::Uuid;

use super::{table, Status};

table! {
    /// One order: who placed it, where it goes, what it costs, its payment and shipment.
    OrderRow in "orders" keyed by (id) {
        id: Uuid,
        status: Status<OrderStatus>,
        customer_id: Uuid,
        customer_name: String,
        customer_email: String,
        shipping_address_id: Uuid,
        shipping_label: Option<String>,
        shipping_line1: String,
        shipping_line2: Option<String>,
        shipping_city: String,
        shipping_postal_code: String,
        shipping_country: String,
        item_count: i32,
        total_minor: i64,
        currency: String,
        payment_amount_minor: Option<i64>,
        payment_currency: Option<String>,
        payment_method: Option<String>,
        payment_reference: Option<String>,
        paid_at: Option<DateTime<Utc>>,
        shipment_id: Option<Uuid>,
        shipment_status: Option<Status<ShipmentStatus>>,
        shipment_carrier: Option<String>,
        shipment_tracking_number: Option<String>,
        shipment_created_at: Option<DateTime<Utc>>,
        shipment_dispatched_at: Option<DateTime<Utc>>,
        shipment_delivered_at: Option<DateTime<Utc>>,
        placed_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        version: i64,
    }
}

table! {
    /// One line of an order, with the product's name and price as the order captured them.
    OrderLineRow in "order_lines" keyed by (order_id, line_no) {
        order_id: Uuid,
        line_no: i32,
        sku: String,
        product_name: String,
        quantity: i32,
        unit_price_minor: i64,
        currency: String,
    }
}

table! {
    /// One status an order took, with when and why.
    OrderHistoryRow in "order_history" keyed by (order_id, sequence) {
        order_id: Uuid,
        sequence: i64,
        status: Status<OrderStatus>,
        at: DateTime<Utc>,
        reason: Option<String>,
    }
}

table! {
    /// A customer's name and email as the orders show them (the projection's own copy).
    OrderCustomerRow in "order_customers" keyed by (id) {
        id: Uuid,
        name: String,
        email: String,
    }
}
