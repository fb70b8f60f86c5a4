//! `Query`: the root of every read.

use async_graphql::{Context, InputObject, Object, ID};
use auth::Caller;
use event_store::EventLog;
use event_store::Leases;

use crate::cursor::{decode_sku, TimeCursor};
use crate::errors;
use crate::read_models::access::{Reader, Scope};
use crate::read_models::loaders::Loaders;
use crate::read_models::pages::OrdersFilter;
use crate::scalars::{page_size, uuid, DateTime};
use crate::views::connections::{
    CustomerConnection, OrderConnection, OrderCount, ProductConnection,
};
use crate::views::customer::{Customer, CustomerSet};
use crate::views::order::{Order, OrderSet, OrderStatus};
use crate::views::product::Product;
use crate::views::projection::ProjectionStatus;
use crate::views::shipment::Shipment;

#[derive(Debug, Clone, Default, InputObject)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub customer_id: Option<ID>,
    pub placed_after: Option<DateTime>,
    pub placed_before: Option<DateTime>,
}

impl OrderFilter {
    fn parse(self) -> async_graphql::Result<OrdersFilter> {
        Ok(OrdersFilter {
            status: self.status.map(Into::into),
            customer: self
                .customer_id
                .as_ref()
                .map(|id| uuid(id, "filter.customerId"))
                .transpose()?,
            placed_after: self.placed_after.map(|at| at.0),
            placed_before: self.placed_before.map(|at| at.0),
        })
    }
}

/// The read models as the request's caller may read them (the HTTP and WebSocket
/// layers put the caller in the request's data; without one, nothing is readable).
pub fn reader<'c>(ctx: &Context<'c>) -> Reader<'c> {
    Reader::new(
        Scope::of(ctx.data_opt::<Caller>()),
        ctx.data_unchecked::<Loaders>(),
        ctx.data_unchecked::<Leases>(),
    )
}

/// A nullable field's value: on an error (`FORBIDDEN`, `BAD_USER_INPUT`, …) `null`, with
/// the error beside it at the field's path. (Returned as a resolver's `Err`,
/// async-graphql would leave the field out of `data` altogether.)
fn or_null<T>(ctx: &Context<'_>, result: async_graphql::Result<Option<T>>) -> Option<T> {
    match result {
        Ok(value) => value,
        Err(error) => {
            ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
            None
        }
    }
}

#[derive(Debug, Default)]
pub struct Query;

#[Object]
impl Query {
    /// One order; `null` when there is none with this id.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Option<Order> {
        let row = async { reader(ctx).order(uuid(&id, "id")?).await };
        or_null(ctx, row.await).and_then(|row| OrderSet::orders(vec![row]).pop())
    }

    /// Orders, newest first (`placedAt` desc, then `id` desc).
    #[graphql(complexity = "child_complexity * first.unwrap_or(20).clamp(1, 100) as usize")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrderFilter>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrderConnection> {
        let first = page_size(first)?;
        let after = after.as_deref().map(TimeCursor::decode).transpose()?;
        let filter = filter.unwrap_or_default().parse()?;
        let (page, filter) = reader(ctx).orders(filter, first, after).await?;
        Ok(OrderConnection::new(
            page.map(OrderSet::orders),
            OrderCount::Filtered(filter),
        ))
    }

    async fn customer(&self, ctx: &Context<'_>, id: ID) -> Option<Customer> {
        let row = async { reader(ctx).customer(uuid(&id, "id")?).await };
        or_null(ctx, row.await).and_then(|row| CustomerSet::customers(vec![row]).pop())
    }

    /// Customers, newest first (`registeredAt` desc); `emailContains` matches any part of
    /// the email, ignoring case.
    #[graphql(complexity = "child_complexity * first.unwrap_or(20).clamp(1, 100) as usize")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        email_contains: Option<String>,
    ) -> async_graphql::Result<CustomerConnection> {
        let first = page_size(first)?;
        let after = after.as_deref().map(TimeCursor::decode).transpose()?;
        let page = reader(ctx)
            .customers(email_contains.as_deref(), first, after)
            .await?;
        Ok(CustomerConnection {
            page: page.map(CustomerSet::customers),
            email_contains,
        })
    }

    async fn shipment(&self, ctx: &Context<'_>, id: ID) -> Option<Shipment> {
        let row = async { reader(ctx).shipment(uuid(&id, "id")?).await };
        or_null(ctx, row.await).map(Shipment::single)
    }

    async fn product(&self, ctx: &Context<'_>, sku: String) -> Option<Product> {
        or_null(ctx, reader(ctx).product(&sku).await).map(Product)
    }

    /// Products by sku.
    #[graphql(complexity = "child_complexity * first.unwrap_or(20).clamp(1, 100) as usize")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ProductConnection> {
        let first = page_size(first)?;
        let after = after.as_deref().map(decode_sku).transpose()?;
        let page = reader(ctx).products(first, after.as_deref()).await?;
        Ok(ProductConnection { page })
    }

    /// Every read model and process manager (and the relay, where integration events are
    /// on): checkpoint, head, lag, state, last error.
    async fn projections(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProjectionStatus>> {
        reader(ctx).everything("the projections' status")?;
        let statuses = projections::status::every_projection(ctx.data_unchecked::<EventLog>())
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(statuses.into_iter().map(Into::into).collect())
    }
}
