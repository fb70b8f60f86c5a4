//! Commands in bulk, in this process and without HTTP: for loading data (`oms seed`).
//!
//! Each command is built from its route's input type by the route's own code (the same
//! validation, the same facts read from the same aggregates) and decided by the same
//! aggregate; a call's commands then run as one batch (`execute::batch`): loaded in one
//! statement, appended in one transaction. Each command answers exactly what its route
//! would, in the order given. They act as an open service's caller does (`OMS_AUTH=off`:
//! admin), without idempotency keys; each command's events get a correlation id of their
//! own. They are counted in `oms_commands_total` like routed commands.

use domain::input::{
    AddAddressInput, CancelOrderInput, DefineProductInput, DispatchShipmentInput, PayOrderInput,
    PlaceOrderInput, RegisterCustomerInput,
};
use domain::DomainError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::access::Owned;
use crate::error::ApiError;
use crate::execute::Command;
use crate::records::Accepted;
use crate::request::CommandContext;
use crate::routes::{customers, orders, path_uuid, products, shipments};
use crate::AppState;

/// Each command's answer, in the order the commands were given.
pub type Answers = Vec<Result<Accepted, ApiError>>;

/// Runs commands in bulk on an [`AppState`]'s log.
#[derive(Debug, Clone)]
pub struct Bulk {
    state: AppState,
    context: CommandContext,
}

impl Bulk {
    pub fn new(state: AppState) -> Self {
        let context = CommandContext {
            caller: auth::Caller::open(),
            only_customer: None,
            idempotency_key: None,
            if_match: None,
            fingerprint: Value::Null,
            request_id: String::new(),
        };
        Self { state, context }
    }

    /// `POST /customers` for each input.
    pub async fn register_customers(
        &self,
        inputs: Vec<RegisterCustomerInput>,
    ) -> Result<Answers, ApiError> {
        let valid: Vec<_> = inputs.into_iter().map(|input| input.validate()).collect();
        let emails: Vec<&str> = valid
            .iter()
            .flatten()
            .map(|(_, email)| email.normalized())
            .collect();
        let owners = crate::records::email_owners(&self.state, &emails).await?;
        let commands = valid.into_iter().map(|valid| {
            let (name, email) = valid?;
            let owner = owners.get(email.normalized()).copied();
            Ok(customers::registration(
                &self.state,
                name,
                email,
                owner,
                None,
            ))
        });
        self.run("RegisterCustomer", commands.collect()).await
    }

    /// `POST /customers/{id}/addresses` for each (customer id, input).
    pub async fn add_addresses(
        &self,
        inputs: Vec<(String, AddAddressInput)>,
    ) -> Result<Answers, ApiError> {
        let commands = on_paths(inputs, |customer_id, input: AddAddressInput| {
            Ok(customers::new_address(
                &self.state,
                customer_id,
                input.validate()?,
            ))
        });
        self.run("AddAddress", commands).await
    }

    /// `POST /products` for each input.
    pub async fn define_products(
        &self,
        inputs: Vec<DefineProductInput>,
    ) -> Result<Answers, ApiError> {
        let commands = inputs
            .into_iter()
            .map(|input| Ok(products::definition(input.validate()?)));
        self.run("DefineProduct", commands.collect()).await
    }

    /// `POST /orders` for each input; the customers and products named are read once for
    /// all of them.
    pub async fn place_orders(&self, inputs: Vec<PlaceOrderInput>) -> Result<Answers, ApiError> {
        let valid: Vec<_> = inputs.into_iter().map(|input| input.validate()).collect();
        let requests: Vec<_> = valid.iter().flatten().cloned().collect();
        let facts = orders::PlacementFacts::load(&self.state, &requests).await?;
        let commands = valid
            .into_iter()
            .map(|order| Ok(orders::placement(&self.state, order?, &facts)));
        self.run("PlaceOrder", commands.collect()).await
    }

    /// `POST /orders/{id}/pay` for each (order id, input).
    pub async fn pay_orders(
        &self,
        inputs: Vec<(String, PayOrderInput)>,
    ) -> Result<Answers, ApiError> {
        let commands = on_paths(inputs, |order_id, input: PayOrderInput| {
            Ok(orders::payment(&self.state, order_id, input.validate()?))
        });
        self.run("PayOrder", commands).await
    }

    /// `POST /orders/{id}/cancel` for each (order id, input).
    pub async fn cancel_orders(
        &self,
        inputs: Vec<(String, CancelOrderInput)>,
    ) -> Result<Answers, ApiError> {
        let commands = on_paths(inputs, |order_id, input: CancelOrderInput| {
            Ok(orders::cancellation(
                &self.state,
                order_id,
                input.validate()?,
            ))
        });
        self.run("CancelOrder", commands).await
    }

    /// `POST /shipments/{id}/dispatch` for each (shipment id, input).
    pub async fn dispatch_shipments(
        &self,
        inputs: Vec<(String, DispatchShipmentInput)>,
    ) -> Result<Answers, ApiError> {
        let commands = on_paths(inputs, |shipment_id, input: DispatchShipmentInput| {
            Ok(shipments::dispatching(
                &self.state,
                shipment_id,
                input.validate()?,
            ))
        });
        self.run("DispatchShipment", commands).await
    }

    /// `POST /shipments/{id}/deliver` for each shipment id.
    pub async fn deliver_shipments(&self, ids: Vec<String>) -> Result<Answers, ApiError> {
        let inputs = ids.into_iter().map(|id| (id, ())).collect();
        let commands = on_paths(inputs, |shipment_id, ()| {
            Ok(shipments::delivery(&self.state, shipment_id))
        });
        self.run("DeliverShipment", commands).await
    }

    /// Runs the commands that were built as one batch and answers every input: those that
    /// could not be built with why.
    async fn run<A>(
        &self,
        name: &'static str,
        built: Vec<Result<Command<'_, A>, ApiError>>,
    ) -> Result<Answers, ApiError>
    where
        A: Owned + Serialize + DeserializeOwned,
        A::Command: Clone,
        A::Error: DomainError,
    {
        let mut answers: Vec<Option<Result<Accepted, ApiError>>> = Vec::with_capacity(built.len());
        let mut commands = Vec::with_capacity(built.len());
        for command in built {
            match command {
                Ok(command) => {
                    commands.push(command);
                    answers.push(None);
                }
                Err(refused) => answers.push(Some(Err(refused))),
            }
        }
        let mut executed = self
            .state
            .execute_batch(&self.context, &commands)
            .await?
            .into_iter();
        let answers: Answers = answers
            .into_iter()
            .map(|answer| {
                answer.or_else(|| executed.next()).unwrap_or_else(|| {
                    Err(ApiError::Internal(anyhow::anyhow!(
                        "a batch answered fewer commands than it was given"
                    )))
                })
            })
            .collect();
        for answer in &answers {
            crate::metrics::counted(name, answer);
        }
        Ok(answers)
    }
}

/// The commands of route inputs naming their aggregate in the path: each id read as the
/// route reads it (one that is not a UUID names nothing: `404`), then `build`.
fn on_paths<'s, T, Id, A>(
    inputs: Vec<(String, T)>,
    build: impl Fn(Id, T) -> Result<Command<'s, A>, ApiError>,
) -> Vec<Result<Command<'s, A>, ApiError>>
where
    Id: std::str::FromStr,
    A: cqrs_es::Aggregate,
{
    inputs
        .into_iter()
        .map(|(id, input)| build(path_uuid(&id)?, input))
        .collect()
}
