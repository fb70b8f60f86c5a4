//! The schema: roots, data, limits, and the SDL committed in `schemas/graphql`.

use async_graphql::{EmptyMutation, Schema};
use event_store::EventLog;

use crate::extension::Policies;
use crate::hub::Hub;
use crate::query::Query;
use crate::read_models::loaders::ById;
use crate::subscription::SubscriptionRoot;

pub type OmsSchema = Schema<Query, EmptyMutation, SubscriptionRoot>;

/// The schema over `log`'s database, following commits through `hub`.
pub fn build(log: EventLog, hub: Hub) -> OmsSchema {
    let reads = log.leases().clone();
    builder()
        .data(ById::loader(reads.clone()))
        .data(reads)
        .data(log)
        .data(hub)
        .extension(Policies)
        .finish()
}

fn builder() -> async_graphql::SchemaBuilder<Query, EmptyMutation, SubscriptionRoot> {
    Schema::build(Query, EmptyMutation, SubscriptionRoot)
}

/// The SDL of the schema, as committed in `schemas/graphql/schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
