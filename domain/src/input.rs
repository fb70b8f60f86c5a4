//! Requests as clients send them, turned into domain values.
//!
//! Fields are `Option` so that a missing field is a validation error naming it, while a
//! field of the wrong JSON type fails deserialisation (the API's `malformed-request`).
//! Every broken field is reported, with its path (`lines[2].quantity`), before anything is
//! looked up.

use serde::Deserialize;

use crate::order::{RequestedLine, MAX_LINES};
use crate::validation::{ValidationErrors, Validator, ValueError};
use crate::values::{
    Address, AddressId, AddressLabel, AddressLine, Carrier, City, Country, Currency, CustomerId,
    Email, Money, PaymentMethod, PaymentReference, PersonName, PostalCode, ProductName, Quantity,
    Reason, Sku, StockLevel, TrackingNumber,
};

/// `{amount: "12.50", currency: "EUR"}`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoneyInput {
    pub amount: Option<String>,
    pub currency: Option<String>,
}

impl MoneyInput {
    fn validate(self, v: &mut Validator, field: &str) -> Option<Money> {
        let minor = v.required(format!("{field}.amount"), self.amount, |a| {
            Money::parse_amount_minor(&a)
        });
        let currency = v.required(format!("{field}.currency"), self.currency, Currency::parse);
        Some(Money::from_minor(minor?, currency?))
    }
}

fn money(v: &mut Validator, field: &str, input: Option<MoneyInput>) -> Option<Money> {
    match input {
        Some(input) => input.validate(v, field),
        None => {
            v.check(field, Err::<(), _>(ValueError::Missing));
            None
        }
    }
}

/// `POST /customers`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterCustomerInput {
    pub name: Option<String>,
    pub email: Option<String>,
}

impl RegisterCustomerInput {
    pub fn validate(self) -> Result<(PersonName, Email), ValidationErrors> {
        let mut v = Validator::new();
        let name = v.required("name", self.name, PersonName::parse);
        let email = v.required("email", self.email, Email::parse);
        v.finish(|| Some((name?, email?)))
    }
}

/// `POST /customers/{id}/rename`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameCustomerInput {
    pub name: Option<String>,
}

impl RenameCustomerInput {
    pub fn validate(self) -> Result<PersonName, ValidationErrors> {
        let mut v = Validator::new();
        let name = v.required("name", self.name, PersonName::parse);
        v.finish(|| name)
    }
}

/// `POST /customers/{id}/change-email`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeEmailInput {
    pub email: Option<String>,
}

impl ChangeEmailInput {
    pub fn validate(self) -> Result<Email, ValidationErrors> {
        let mut v = Validator::new();
        let email = v.required("email", self.email, Email::parse);
        v.finish(|| email)
    }
}

/// `POST /customers/{id}/addresses`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddAddressInput {
    pub label: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl AddAddressInput {
    pub fn validate(self) -> Result<Address, ValidationErrors> {
        let mut v = Validator::new();
        let label = v.optional("label", self.label, AddressLabel::parse);
        let line1 = v.required("line1", self.line1, AddressLine::parse);
        let line2 = v.optional("line2", self.line2, AddressLine::parse);
        let city = v.required("city", self.city, City::parse);
        let postal_code = v.required("postal_code", self.postal_code, PostalCode::parse);
        let country = v.required("country", self.country, Country::parse);
        v.finish(|| {
            Some(Address {
                label: label?,
                line1: line1?,
                line2: line2?,
                city: city?,
                postal_code: postal_code?,
                country: country?,
            })
        })
    }
}

/// `POST /products`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DefineProductInput {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub price: Option<MoneyInput>,
    pub stock: Option<i64>,
}

impl DefineProductInput {
    pub fn validate(self) -> Result<(Sku, ProductName, Money, StockLevel), ValidationErrors> {
        let mut v = Validator::new();
        let sku = v.required("sku", self.sku, Sku::parse);
        let name = v.required("name", self.name, ProductName::parse);
        let price = money(&mut v, "price", self.price);
        let stock = v.required("stock", self.stock, StockLevel::new);
        v.finish(|| Some((sku?, name?, price?, stock?)))
    }
}

/// `POST /products/{sku}/change-price`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePriceInput {
    pub price: Option<MoneyInput>,
}

impl ChangePriceInput {
    pub fn validate(self) -> Result<Money, ValidationErrors> {
        let mut v = Validator::new();
        let price = money(&mut v, "price", self.price);
        v.finish(|| price)
    }
}

/// `POST /products/{sku}/restock`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestockInput {
    pub quantity: Option<i64>,
}

impl RestockInput {
    pub fn validate(self) -> Result<Quantity, ValidationErrors> {
        let mut v = Validator::new();
        let quantity = v.required("quantity", self.quantity, Quantity::new);
        v.finish(|| quantity)
    }
}

/// One line of `POST /orders`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLineInput {
    pub sku: Option<String>,
    pub quantity: Option<i64>,
}

/// `POST /orders`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaceOrderInput {
    pub customer_id: Option<String>,
    pub shipping_address_id: Option<String>,
    pub lines: Option<Vec<OrderLineInput>>,
}

/// A validated `POST /orders`, before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub customer_id: CustomerId,
    pub shipping_address_id: AddressId,
    pub lines: Vec<RequestedLine>,
}

impl PlaceOrderInput {
    pub fn validate(self) -> Result<OrderRequest, ValidationErrors> {
        let mut v = Validator::new();
        let customer_id = v.required("customer_id", self.customer_id, |s| CustomerId::parse(&s));
        let shipping_address_id =
            v.required("shipping_address_id", self.shipping_address_id, |s| {
                AddressId::parse(&s)
            });
        let lines = match self.lines {
            None => {
                v.check("lines", Err::<(), _>(ValueError::Missing));
                None
            }
            Some(lines) if lines.is_empty() || lines.len() > MAX_LINES => {
                v.error("lines", format!("must have 1 to {MAX_LINES} lines"));
                None
            }
            Some(lines) => {
                let mut valid = Vec::with_capacity(lines.len());
                for (i, line) in lines.into_iter().enumerate() {
                    let sku = v.required(format!("lines[{i}].sku"), line.sku, Sku::parse);
                    let quantity =
                        v.required(format!("lines[{i}].quantity"), line.quantity, Quantity::new);
                    if let (Some(sku), Some(quantity)) = (sku, quantity) {
                        valid.push(RequestedLine { sku, quantity });
                    }
                }
                Some(valid)
            }
        };
        v.finish(|| {
            Some(OrderRequest {
                customer_id: customer_id?,
                shipping_address_id: shipping_address_id?,
                lines: lines?,
            })
        })
    }
}

/// `POST /orders/{id}/pay`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayOrderInput {
    pub amount: Option<MoneyInput>,
    pub method: Option<String>,
    pub reference: Option<String>,
}

impl PayOrderInput {
    pub fn validate(self) -> Result<(Money, PaymentMethod, PaymentReference), ValidationErrors> {
        let mut v = Validator::new();
        let amount = money(&mut v, "amount", self.amount);
        let method = v.required("method", self.method, PaymentMethod::parse);
        let reference = v.required("reference", self.reference, PaymentReference::parse);
        v.finish(|| Some((amount?, method?, reference?)))
    }
}

/// `POST /orders/{id}/cancel`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelOrderInput {
    pub reason: Option<String>,
}

impl CancelOrderInput {
    pub fn validate(self) -> Result<Reason, ValidationErrors> {
        let mut v = Validator::new();
        let reason = v.required("reason", self.reason, Reason::parse);
        v.finish(|| reason)
    }
}

/// `POST /shipments/{id}/dispatch`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DispatchShipmentInput {
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

impl DispatchShipmentInput {
    pub fn validate(self) -> Result<(Carrier, TrackingNumber), ValidationErrors> {
        let mut v = Validator::new();
        let carrier = v.required("carrier", self.carrier, Carrier::parse);
        let tracking_number = v.required(
            "tracking_number",
            self.tracking_number,
            TrackingNumber::parse,
        );
        v.finish(|| Some((carrier?, tracking_number?)))
    }
}
