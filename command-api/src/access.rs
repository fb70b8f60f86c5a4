//! Who may run a command: each route's [`Access`] (in the route table), checked on the
//! caller before the request is read, and the ownership rule a customer's command meets
//! when its aggregate is loaded ([`Owned`]), so no handler can skip either.

use auth::{Caller, Role};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cqrs_es::Aggregate;
use domain::values::CustomerId;
use domain::{Customer, CustomerCommand, Order, OrderCommand, Product, Shipment};

use crate::error::ApiError;
use crate::AppState;

/// Who may run a route's command, besides `admin`, who may run every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `staff`.
    Staff,
    /// A `customer` acting on its own aggregates.
    Owner,
    /// `staff`, or a `customer` acting on its own aggregates.
    StaffOrOwner,
}

/// The request's caller, and the customer its command is held to (`None`: any).
#[derive(Debug, Clone)]
pub(crate) struct Authorized {
    pub(crate) caller: Caller,
    pub(crate) only_customer: Option<CustomerId>,
}

impl Access {
    /// `caller` admitted to a route of this access, held to its own customer where the
    /// route admits it only as a customer; `Err` hands the refused caller back.
    pub(crate) fn admit(self, caller: Caller) -> Result<Authorized, Caller> {
        let staff = caller.has(Role::Staff) && matches!(self, Self::Staff | Self::StaffOrOwner);
        let only_customer = if caller.has(Role::Admin) || staff {
            None
        } else if let (Self::Owner | Self::StaffOrOwner, Some(own)) = (self, caller.own_customer())
        {
            Some(own)
        } else {
            return Err(caller);
        };
        Ok(Authorized {
            caller,
            only_customer,
        })
    }

    /// Who the OpenAPI document says may run it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Staff => "Roles: admin, staff.",
            Self::Owner => "Roles: admin; customer, for its own customer.",
            Self::StaffOrOwner => "Roles: admin, staff; customer, for its own customer.",
        }
    }
}

/// Authenticates the request and admits it to a route of `access`: `401` without a
/// valid token (when authentication is on), `403` when its roles do not reach the route.
pub(crate) async fn authorize(
    State((state, access)): State<(AppState, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match state.auth.authenticate(request.headers()).await {
        Ok(caller) => caller,
        Err(refusal) => return ApiError::Unauthorized(refusal).into_response(),
    };
    match access.admit(caller) {
        Ok(authorized) => {
            request.extensions_mut().insert(authorized);
            next.run(request).await
        }
        Err(caller) => ApiError::Forbidden(format!(
            "the token's roles ({}) do not allow this command",
            roles(&caller)
        ))
        .into_response(),
    }
}

fn roles(caller: &Caller) -> String {
    if caller.roles.is_empty() {
        return "none".into();
    }
    caller
        .roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The customer an aggregate belongs to, as a command on it would leave it.
pub(crate) trait Owned: Aggregate {
    /// `None`: nobody's (a product, a shipment), or not there yet.
    fn owner(&self, command: &Self::Command) -> Option<CustomerId>;
}

impl Owned for Customer {
    fn owner(&self, command: &CustomerCommand) -> Option<CustomerId> {
        match command {
            CustomerCommand::Register { customer_id, .. } => Some(*customer_id),
            _ => self.id(),
        }
    }
}

impl Owned for Order {
    fn owner(&self, command: &OrderCommand) -> Option<CustomerId> {
        match command {
            OrderCommand::Place(place) => Some(place.customer_id),
            _ => self.customer_id(),
        }
    }
}

impl Owned for Product {
    fn owner(&self, _: &Self::Command) -> Option<CustomerId> {
        None
    }
}

impl Owned for Shipment {
    fn owner(&self, _: &Self::Command) -> Option<CustomerId> {
        None
    }
}

/// Refuses a command held to `only` on an aggregate of another customer. An aggregate
/// of nobody yet (an unknown id) goes on to the domain, which answers `404`.
pub(crate) fn check_owner<A: Owned>(
    only: Option<CustomerId>,
    aggregate: &A,
    command: &A::Command,
    exists: bool,
) -> Result<(), ApiError> {
    let Some(customer) = only else {
        return Ok(());
    };
    match aggregate.owner(command) {
        Some(owner) if owner == customer => Ok(()),
        None if !exists => Ok(()),
        _ => Err(ApiError::Forbidden(format!(
            "customer {customer} may act only on its own {}",
            A::TYPE.to_ascii_lowercase()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(roles: &[Role]) -> Caller {
        Caller {
            sub: "s".into(),
            roles: roles.to_vec(),
            customer: Some(CustomerId::new()),
            expires_at: None,
        }
    }

    #[test]
    fn admin_reaches_every_route_unrestricted() {
        for access in [Access::Staff, Access::Owner, Access::StaffOrOwner] {
            let admitted = access.admit(caller(&[Role::Admin])).expect("admitted");
            assert_eq!(admitted.only_customer, None);
        }
    }

    #[test]
    fn staff_and_customers_reach_their_routes_only() {
        let staff = caller(&[Role::Staff]);
        assert!(Access::Owner.admit(staff.clone()).is_err());
        assert_eq!(
            Access::StaffOrOwner
                .admit(staff)
                .ok()
                .map(|a| a.only_customer),
            Some(None)
        );
        let customer = caller(&[Role::Customer]);
        assert!(Access::Staff.admit(customer.clone()).is_err());
        assert_eq!(
            Access::Owner
                .admit(customer.clone())
                .ok()
                .map(|a| a.only_customer),
            Some(customer.customer)
        );
        assert!(Access::Owner.admit(caller(&[])).is_err());
    }
}
