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

/// A JSON integer, also when written with a zero fraction (`1.0`: JSON Schema's integers
/// include it); another number is the wrong type (`malformed-request`).
fn integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        // Within ±2^53 a float with no fraction is exactly an integer.
        #[allow(clippy::cast_possible_truncation)]
        Some(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => Ok(Some(f as i64)),
        _ => Err(D::Error::custom(format!(
            "invalid type: {number}, expected an integer"
        ))),
    }
}

/// `{amount: "12.50", currency: "EUR"}`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"amount": "12.50", "currency": "EUR"})))]
pub struct MoneyInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Money::amount_schema))]
    pub amount: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Currency::schema))]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Ada Lovelace", "email": "ada@example.com"})))]
pub struct RegisterCustomerInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = PersonName::schema))]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Email::schema))]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "Ada King"})))]
pub struct RenameCustomerInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = PersonName::schema))]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"email": "ada.king@example.com"})))]
pub struct ChangeEmailInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Email::schema))]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"label": "home", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"})))]
pub struct AddAddressInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = AddressLabel::schema))]
    pub label: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = AddressLine::schema))]
    pub line1: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = AddressLine::schema))]
    pub line2: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = City::schema))]
    pub city: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = PostalCode::schema))]
    pub postal_code: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Country::schema))]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"sku": "MUG-001", "name": "Coffee Mug", "price": {"amount": "12.50", "currency": "EUR"}, "stock": 100})))]
pub struct DefineProductInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Sku::schema))]
    pub sku: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = ProductName::schema))]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, nullable = false))]
    pub price: Option<MoneyInput>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = StockLevel::schema))]
    #[serde(default, deserialize_with = "integer")]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"price": {"amount": "14.90", "currency": "EUR"}})))]
pub struct ChangePriceInput {
    #[cfg_attr(feature = "openapi", schema(required = true, nullable = false))]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"quantity": 50})))]
pub struct RestockInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Quantity::schema))]
    #[serde(default, deserialize_with = "integer")]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"sku": "MUG-001", "quantity": 2})))]
pub struct OrderLineInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Sku::schema))]
    pub sku: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Quantity::schema))]
    #[serde(default, deserialize_with = "integer")]
    pub quantity: Option<i64>,
}

/// `POST /orders`
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"customer_id": "0b6c7f1e-3d4a-4e8b-9a57-5d2f0c1e6a90", "shipping_address_id": "5e1d2c3b-4a59-4687-9b0c-1d2e3f4a5b6c", "lines": [{"sku": "MUG-001", "quantity": 2}]})))]
pub struct PlaceOrderInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = CustomerId::schema))]
    pub customer_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = AddressId::schema))]
    pub shipping_address_id: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, nullable = false, min_items = 1, max_items = 100)
    )]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"amount": {"amount": "25.00", "currency": "EUR"}, "method": "card", "reference": "psp-4711"})))]
pub struct PayOrderInput {
    #[cfg_attr(feature = "openapi", schema(required = true, nullable = false))]
    pub amount: Option<MoneyInput>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = PaymentMethod::schema))]
    pub method: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = PaymentReference::schema))]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"reason": "ordered by mistake"})))]
pub struct CancelOrderInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Reason::schema))]
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
#[cfg_attr(feature = "openapi", schema(example = json!({"carrier": "DHL", "tracking_number": "JJD000390007"})))]
pub struct DispatchShipmentInput {
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = Carrier::schema))]
    pub carrier: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = TrackingNumber::schema))]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn restock(body: &str) -> Result<RestockInput, serde_json::Error> {
        serde_json::from_str(body)
    }

    #[test]
    fn integers_may_be_written_with_a_zero_fraction_and_nothing_else() {
        assert_eq!(
            restock(r#"{"quantity": 2}"#).expect("int").quantity,
            Some(2)
        );
        assert_eq!(
            restock(r#"{"quantity": 2.0}"#).expect("2.0").quantity,
            Some(2)
        );
        assert_eq!(
            restock(r#"{"quantity": -3.0}"#).expect("-3.0").quantity,
            Some(-3)
        );
        assert_eq!(restock("{}").expect("missing").quantity, None);
        assert_eq!(
            restock(r#"{"quantity": null}"#).expect("null").quantity,
            None
        );
        for refused in [
            r#"{"quantity": 2.5}"#,
            r#"{"quantity": "2"}"#,
            r#"{"quantity": 1e300}"#,
        ] {
            assert!(restock(refused).is_err(), "{refused}");
        }
    }
}
