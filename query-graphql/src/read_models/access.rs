//! Reading as the caller: every root of a read (a lookup by id, a list, a subscription)
//! goes through a [`Reader`], which takes the caller and answers only what it may read.
//! A customer reads itself, its orders and their shipments, and products; staff and
//! admin read everything; a token without an OMS role reads nothing.
//!
//! Nested fields need no check of their own: everything under an order, a shipment or a
//! customer belongs to the same customer (an order's customer summary and shipment, a
//! shipment's order, a customer's addresses and orders), so a readable root makes its
//! subtree readable.

use async_graphql::Error;
use auth::Caller;
use event_store::Leases;
use projections::tables::customers::CustomerRow;
use projections::tables::orders::OrderRow;
use projections::tables::products::ProductRow;
use projections::tables::shipments::ShipmentRow;
use uuid::Uuid;

use super::fetch;
use super::loaders::{CustomerById, Loaders, OrderById, ShipmentById};
use super::pages::{self, OrdersFilter, Page};
use crate::cursor::TimeCursor;
use crate::errors;

/// What a caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Admin and staff (and every request while authentication is off).
    Everything,
    /// A customer: itself and its own orders and shipments, and products.
    Customer(Uuid),
    /// A verified token without an OMS role; also a request with no caller at all.
    Nothing,
}

impl Scope {
    /// `caller`'s scope; no caller reads nothing.
    pub fn of(caller: Option<&Caller>) -> Self {
        match caller {
            Some(caller) if caller.reads_everything() => Self::Everything,
            Some(caller) => caller
                .own_customer()
                .map_or(Self::Nothing, |c| Self::Customer(c.as_uuid())),
            None => Self::Nothing,
        }
    }

    /// Whether this scope reaches `customer`'s data.
    pub fn reaches(self, customer: Uuid) -> bool {
        match self {
            Self::Everything => true,
            Self::Customer(own) => own == customer,
            Self::Nothing => false,
        }
    }

    fn refuse(self, what: &str) -> Error {
        match self {
            Self::Nothing => errors::forbidden("the token has no OMS role that reads anything"),
            _ => errors::forbidden(format!("this token may not read {what}")),
        }
    }

    fn check(self, customer: Uuid, what: &str) -> Result<(), Error> {
        if self.reaches(customer) {
            Ok(())
        } else {
            Err(self.refuse(what))
        }
    }
}

/// The read models as one caller may read them.
pub struct Reader<'a> {
    scope: Scope,
    loaders: &'a Loaders,
    reads: &'a Leases,
}

impl std::fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl<'a> Reader<'a> {
    pub fn new(scope: Scope, loaders: &'a Loaders, reads: &'a Leases) -> Self {
        Self {
            scope,
            loaders,
            reads,
        }
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// An order; `FORBIDDEN` when it is another customer's.
    pub async fn order(&self, id: Uuid) -> Result<Option<OrderRow>, Error> {
        self.any_role("orders")?;
        let row = self.loaders.load_one(OrderById(id)).await?;
        if let Some(row) = &row {
            self.scope
                .check(row.customer_id, "another customer's order")?;
        }
        Ok(row)
    }

    /// A customer; `FORBIDDEN` when it is another one.
    pub async fn customer(&self, id: Uuid) -> Result<Option<CustomerRow>, Error> {
        self.any_role("customers")?;
        let row = self.loaders.load_one(CustomerById(id)).await?;
        if row.is_some() {
            self.scope.check(id, "another customer")?;
        }
        Ok(row)
    }

    /// A shipment; `FORBIDDEN` when its order is another customer's.
    pub async fn shipment(&self, id: Uuid) -> Result<Option<ShipmentRow>, Error> {
        self.any_role("shipments")?;
        let row = self.loaders.load_one(ShipmentById(id)).await?;
        if let (Some(shipment), Scope::Customer(_)) = (&row, self.scope) {
            let order = self.loaders.load_one(OrderById(shipment.order_id)).await?;
            let owner = order.map(|o| o.customer_id);
            if !owner.is_some_and(|owner| self.scope.reaches(owner)) {
                return Err(self.scope.refuse("another customer's shipment"));
            }
        }
        Ok(row)
    }

    /// A product (every role reads the catalogue).
    pub async fn product(&self, sku: &str) -> Result<Option<ProductRow>, Error> {
        self.any_role("products")?;
        fetch::product(self.reads, sku)
            .await
            .map_err(|e| errors::database(&e))
    }

    /// A page of orders, and the filter it was read with: a customer's are its own
    /// (asking for another customer's is `FORBIDDEN`).
    pub async fn orders(
        &self,
        mut filter: OrdersFilter,
        first: i64,
        after: Option<TimeCursor>,
    ) -> Result<(Page<OrderRow>, OrdersFilter), Error> {
        match self.scope {
            Scope::Everything => {}
            Scope::Customer(own) => {
                if filter.customer.is_some_and(|asked| asked != own) {
                    return Err(self.scope.refuse("another customer's orders"));
                }
                filter.customer = Some(own);
            }
            Scope::Nothing => return Err(self.scope.refuse("orders")),
        }
        let page = pages::orders(self.reads, &filter, first, after)
            .await
            .map_err(|e| errors::database(&e))?;
        Ok((page, filter))
    }

    /// A page of customers: staff and admin only.
    pub async fn customers(
        &self,
        email_contains: Option<&str>,
        first: i64,
        after: Option<TimeCursor>,
    ) -> Result<Page<CustomerRow>, Error> {
        self.everything("the list of customers")?;
        pages::customers(self.reads, email_contains, first, after)
            .await
            .map_err(|e| errors::database(&e))
    }

    /// A page of products.
    pub async fn products(
        &self,
        first: i64,
        after: Option<&str>,
    ) -> Result<Page<ProductRow>, Error> {
        self.any_role("products")?;
        pages::products(self.reads, first, after)
            .await
            .map_err(|e| errors::database(&e))
    }

    /// `FORBIDDEN` unless the caller reads everything (`customers`, `projections`).
    pub fn everything(&self, what: &str) -> Result<(), Error> {
        match self.scope {
            Scope::Everything => Ok(()),
            scope => Err(scope.refuse(what)),
        }
    }

    /// `FORBIDDEN` for a caller without any OMS role.
    pub fn any_role(&self, what: &str) -> Result<(), Error> {
        match self.scope {
            Scope::Nothing => Err(self.scope.refuse(what)),
            _ => Ok(()),
        }
    }
}
