//! The route table ([`table`]) and one module per resource; each handler extracts,
//! validates into domain values, executes and answers. No SQL here.

pub(crate) mod customers;
pub(crate) mod orders;
pub(crate) mod products;
pub(crate) mod shipments;

use std::str::FromStr;

use axum::handler::Handler;
use axum::routing::{post, MethodRouter};

use crate::access::Access::{self, Owner, Staff, StaffOrOwner};
use crate::error::{
    ApiError, ProblemType, CURRENCY_MISMATCH, EMAIL_TAKEN, INVALID_TRANSITION, NOT_FOUND,
    PAYMENT_MISMATCH, SKU_TAKEN, UNKNOWN_ADDRESS, UNKNOWN_CUSTOMER, UNKNOWN_SKU,
};
use crate::AppState;

/// A command route: its path, who may run it, its handler, and the problems it answers
/// besides those every command can meet ([`crate::error::EVERY_COMMAND`]), each with
/// what it means here.
pub(crate) struct Route {
    pub(crate) path: &'static str,
    /// The command it runs, as metrics name it (`PlaceOrder`).
    pub(crate) command: &'static str,
    pub(crate) access: Access,
    pub(crate) handler: MethodRouter<AppState>,
    pub(crate) problems: Vec<(ProblemType, &'static str)>,
}

impl Route {
    fn post<H, T>(path: &'static str, command: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Self {
            path,
            command,
            access,
            handler: post(handler),
            problems: Vec::new(),
        }
    }

    fn answers(mut self, problem: ProblemType, here: &'static str) -> Self {
        self.problems.push((problem, here));
        self
    }
}

/// Every command route of CONTRACT, with CONTRACT's role table (admin may run all).
pub(crate) fn table() -> Vec<Route> {
    const NO_CUSTOMER: &str = "no such customer, or a malformed id";
    const NO_PRODUCT: &str = "no such product, or a malformed id";
    const NO_ORDER: &str = "no such order, or a malformed id";
    const NO_SHIPMENT: &str = "no such shipment, or a malformed id";
    const EMAIL_IN_USE: &str = "another customer already has this email";
    vec![
        Route::post("/customers", "RegisterCustomer", StaffOrOwner, customers::register).answers(EMAIL_TAKEN, EMAIL_IN_USE),
        Route::post("/customers/{id}/rename", "RenameCustomer", Owner, customers::rename).answers(NOT_FOUND, NO_CUSTOMER),
        Route::post("/customers/{id}/change-email", "ChangeCustomerEmail", Owner, customers::change_email)
            .answers(NOT_FOUND, NO_CUSTOMER)
            .answers(EMAIL_TAKEN, EMAIL_IN_USE),
        Route::post("/customers/{id}/addresses", "AddAddress", Owner, customers::add_address)
            .answers(NOT_FOUND, NO_CUSTOMER)
            .answers(INVALID_TRANSITION, "the customer has 20 addresses already"),
        Route::post("/products", "DefineProduct", Staff, products::define)
            .answers(SKU_TAKEN, "a product with this sku exists"),
        Route::post("/products/{id}/change-price", "ChangePrice", Staff, products::change_price)
            .answers(NOT_FOUND, NO_PRODUCT),
        Route::post("/products/{id}/restock", "Restock", Staff, products::restock).answers(NOT_FOUND, NO_PRODUCT),
        Route::post("/orders", "PlaceOrder", Owner, orders::place)
            .answers(UNKNOWN_CUSTOMER, "no such customer")
            .answers(UNKNOWN_ADDRESS, "the address is not the customer's")
            .answers(UNKNOWN_SKU, "a line names no product")
            .answers(CURRENCY_MISMATCH, "lines in different currencies"),
        Route::post("/orders/{id}/pay", "PayOrder", Owner, orders::pay)
            .answers(NOT_FOUND, NO_ORDER)
            .answers(INVALID_TRANSITION, "the order is not CONFIRMED")
            .answers(
                PAYMENT_MISMATCH,
                "the amount or currency differs from the order total",
            ),
        Route::post("/orders/{id}/cancel", "CancelOrder", StaffOrOwner, orders::cancel)
            .answers(NOT_FOUND, NO_ORDER)
            .answers(
                INVALID_TRANSITION,
                "the order is SHIPPED, DELIVERED, REJECTED or CANCELLED, or its shipment was dispatched",
            ),
        Route::post("/shipments/{id}/dispatch", "DispatchShipment", Staff, shipments::dispatch)
            .answers(NOT_FOUND, NO_SHIPMENT)
            .answers(
                INVALID_TRANSITION,
                "the shipment is not PENDING, or its order was cancelled",
            ),
        Route::post("/shipments/{id}/deliver", "DeliverShipment", Staff, shipments::deliver)
            .answers(NOT_FOUND, NO_SHIPMENT)
            .answers(INVALID_TRANSITION, "the shipment is not DISPATCHED"),
    ]
}

/// An id from the path: one that is not a UUID names nothing, so it is a 404. A UUID in
/// any of its spellings (upper case, braces, URN) names the aggregate whose id is its
/// canonical (lower-case, hyphenated) form: handlers pass the parsed id on, never the
/// path's text.
pub(crate) fn path_uuid<T: FromStr>(id: &str) -> Result<T, ApiError> {
    T::from_str(id).map_err(|_| ApiError::NotFound(format!("no resource with id {id}")))
}
