//! Who makes a request: a token's subject, its OMS roles, and the customer it acts as.

use std::time::SystemTime;

use domain::values::CustomerId;
use serde_json::{json, Value};

/// A role of CONTRACT's role table. A token's other roles (an identity provider's own,
/// like `offline_access`) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything.
    Admin,
    /// Products, shipments, cancelling any order; reads everything.
    Staff,
    /// Acts as one customer only.
    Customer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Staff, Role::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Staff => "staff",
            Self::Customer => "customer",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verified caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub` (`anonymous` with authentication off).
    pub sub: String,
    /// Its OMS roles.
    pub roles: Vec<Role>,
    /// The customer a `customer` token acts as: `oms.customer_id`, else the id derived
    /// from its issuer and subject ([`CustomerId::for_subject`]).
    pub customer: Option<CustomerId>,
    /// When the token expires; `None` with authentication off.
    pub expires_at: Option<SystemTime>,
}

impl Caller {
    /// The caller of every request while authentication is off: may do everything.
    pub fn open() -> Self {
        Self {
            sub: "anonymous".into(),
            roles: vec![Role::Admin],
            customer: None,
            expires_at: None,
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// May read every customer's data (admin, staff).
    pub fn reads_everything(&self) -> bool {
        self.has(Role::Admin) || self.has(Role::Staff)
    }

    /// The customer whose own data this caller may reach as a customer.
    pub fn own_customer(&self) -> Option<CustomerId> {
        if self.has(Role::Customer) {
            self.customer
        } else {
            None
        }
    }

    /// The event metadata entry naming this caller (`actor`).
    pub fn actor(&self) -> Value {
        let roles: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        json!({ "sub": self.sub, "roles": roles })
    }

    /// The key idempotency keys are scoped to.
    pub fn subject(&self) -> &str {
        &self.sub
    }
}
