//! Customers: who orders, and where to.

use std::collections::BTreeMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::events::{self, EventKind};
use crate::order::CustomerFacts;
use crate::problem::{DomainError, Problem};
use crate::values::{Address, AddressId, CustomerId, Email, PersonName, Timestamp};

/// The most addresses one customer may have.
pub const MAX_ADDRESSES: usize = 20;

/// A customer. Its aggregate id is the customer id.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    registered: Option<Registered>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Registered {
    id: CustomerId,
    name: PersonName,
    email: Email,
    addresses: Vec<(AddressId, Address)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CustomerCommand {
    /// `email_owner`: who holds this email now (looked up by the caller), if anyone.
    Register {
        customer_id: CustomerId,
        name: PersonName,
        email: Email,
        email_owner: Option<CustomerId>,
    },
    Rename {
        name: PersonName,
    },
    ChangeEmail {
        email: Email,
        email_owner: Option<CustomerId>,
    },
    AddAddress {
        address_id: AddressId,
        address: Address,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CustomerEvent {
    CustomerRegistered {
        customer_id: CustomerId,
        name: PersonName,
        email: Email,
        registered_at: Timestamp,
    },
    CustomerRenamed {
        name: PersonName,
    },
    CustomerEmailChanged {
        email: Email,
    },
    CustomerAddressAdded {
        address_id: AddressId,
        address: Address,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    #[error("no such customer")]
    NotFound,
    #[error("customer {0} is already registered")]
    AlreadyRegistered(CustomerId),
    #[error("another customer already has the email {0}")]
    EmailTaken(Email),
    #[error("a customer has at most {max} addresses")]
    TooManyAddresses { max: usize },
    #[error("address {0} was already added with other details")]
    AddressIdReused(AddressId),
}

impl DomainError for CustomerError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotFound => Problem::NotFound,
            Self::EmailTaken(_) => Problem::EmailTaken,
            Self::AlreadyRegistered(_)
            | Self::TooManyAddresses { .. }
            | Self::AddressIdReused(_) => Problem::InvalidTransition,
        }
    }
}

impl CustomerEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::CustomerRegistered { .. } => events::CUSTOMER_REGISTERED,
            Self::CustomerRenamed { .. } => events::CUSTOMER_RENAMED,
            Self::CustomerEmailChanged { .. } => events::CUSTOMER_EMAIL_CHANGED,
            Self::CustomerAddressAdded { .. } => events::CUSTOMER_ADDRESS_ADDED,
        }
    }
}

impl DomainEvent for CustomerEvent {
    fn event_type(&self) -> String {
        self.kind().event_type.to_owned()
    }
    fn event_version(&self) -> String {
        self.kind().version.to_owned()
    }
}

impl Customer {
    /// The customer's id, once registered.
    pub fn id(&self) -> Option<CustomerId> {
        self.registered.as_ref().map(|c| c.id)
    }

    pub fn is_registered(&self) -> bool {
        self.registered.is_some()
    }

    pub fn name(&self) -> Option<&PersonName> {
        self.registered.as_ref().map(|c| &c.name)
    }

    pub fn email(&self) -> Option<&Email> {
        self.registered.as_ref().map(|c| &c.email)
    }

    pub fn addresses(&self) -> &[(AddressId, Address)] {
        self.registered.as_ref().map_or(&[], |c| &c.addresses)
    }

    /// What placing an order needs to know about this customer (`None`: not registered).
    pub fn facts(&self) -> Option<CustomerFacts> {
        let customer = self.registered.as_ref()?;
        Some(CustomerFacts {
            customer_id: customer.id,
            addresses: customer
                .addresses
                .iter()
                .cloned()
                .collect::<BTreeMap<_, _>>(),
        })
    }
}

impl Aggregate for Customer {
    const TYPE: &'static str = events::CUSTOMER;
    type Command = CustomerCommand;
    type Event = CustomerEvent;
    type Error = CustomerError;
    type Services = SharedClock;

    async fn handle(
        &mut self,
        command: CustomerCommand,
        clock: &SharedClock,
        sink: &EventSink<Self>,
    ) -> Result<(), CustomerError> {
        let event = match (command, &self.registered) {
            (CustomerCommand::Register { customer_id, .. }, Some(_)) => {
                return Err(CustomerError::AlreadyRegistered(customer_id));
            }
            (
                CustomerCommand::Register {
                    customer_id,
                    name,
                    email,
                    email_owner,
                },
                None,
            ) => {
                if email_owner.is_some() {
                    return Err(CustomerError::EmailTaken(email));
                }
                CustomerEvent::CustomerRegistered {
                    customer_id,
                    name,
                    email,
                    registered_at: clock.now(),
                }
            }
            (_, None) => return Err(CustomerError::NotFound),
            (CustomerCommand::Rename { name }, Some(customer)) => {
                if name == customer.name {
                    return Ok(());
                }
                CustomerEvent::CustomerRenamed { name }
            }
            (CustomerCommand::ChangeEmail { email, email_owner }, Some(customer)) => {
                if email_owner.is_some_and(|owner| owner != customer.id) {
                    return Err(CustomerError::EmailTaken(email));
                }
                if email.as_str() == customer.email.as_str() {
                    return Ok(());
                }
                CustomerEvent::CustomerEmailChanged { email }
            }
            (
                CustomerCommand::AddAddress {
                    address_id,
                    address,
                },
                Some(customer),
            ) => {
                if let Some((_, existing)) =
                    customer.addresses.iter().find(|(id, _)| *id == address_id)
                {
                    return if *existing == address {
                        Ok(())
                    } else {
                        Err(CustomerError::AddressIdReused(address_id))
                    };
                }
                if customer.addresses.len() >= MAX_ADDRESSES {
                    return Err(CustomerError::TooManyAddresses { max: MAX_ADDRESSES });
                }
                CustomerEvent::CustomerAddressAdded {
                    address_id,
                    address,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: CustomerEvent) {
        match event {
            CustomerEvent::CustomerRegistered {
                customer_id,
                name,
                email,
                ..
            } => {
                self.registered = Some(Registered {
                    id: customer_id,
                    name,
                    email,
                    addresses: Vec::new(),
                });
            }
            CustomerEvent::CustomerRenamed { name } => {
                if let Some(customer) = &mut self.registered {
                    customer.name = name;
                }
            }
            CustomerEvent::CustomerEmailChanged { email } => {
                if let Some(customer) = &mut self.registered {
                    customer.email = email;
                }
            }
            CustomerEvent::CustomerAddressAdded {
                address_id,
                address,
            } => {
                if let Some(customer) = &mut self.registered {
                    customer.addresses.push((address_id, address));
                }
            }
        }
    }
}
