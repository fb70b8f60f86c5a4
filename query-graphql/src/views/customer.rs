//! `Customer` over `customers` and `customer_addresses`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::{Context, Object, ID};
use domain::order::OrderStatus as Status;
use event_store::Leases;
use projections::tables::customers::{AddressRow, CustomerRow};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::common::{members, Address};
use super::connections::{OrderConnection, OrderCount};
use super::order::{Order, OrderSet, OrderStatus};
use crate::cursor::TimeCursor;
use crate::errors;
use crate::read_models::fetch;
use crate::read_models::pages::{self, Page};
use crate::scalars::{page_size, DateTime};

/// The arguments of a `Customer.orders` page.
type PageArgs = (Option<Status>, i64, Option<TimeCursor>);

/// Loaded once per set: each customer's page of orders.
type Pages = Arc<OnceCell<HashMap<Uuid, Vec<Order>>>>;

/// Loaded once per set: each customer's order count.
type Counts = Arc<OnceCell<HashMap<Uuid, i64>>>;

/// Customers resolved side by side: their addresses, order pages and order counts load
/// for all of them at once (one statement per distinct page arguments).
#[derive(Debug)]
pub struct CustomerSet {
    rows: Vec<CustomerRow>,
    addresses: OnceCell<HashMap<Uuid, Vec<AddressRow>>>,
    orders: Mutex<HashMap<PageArgs, Pages>>,
    counts: Mutex<HashMap<Option<Status>, Counts>>,
}

impl CustomerSet {
    /// The customers of `rows`, as one set.
    pub fn customers(rows: Vec<CustomerRow>) -> Vec<Customer> {
        let len = rows.len();
        let set = Arc::new(Self {
            rows,
            addresses: OnceCell::new(),
            orders: Mutex::default(),
            counts: Mutex::default(),
        });
        members(&set, len, |set, index| Customer { set, index })
    }

    fn ids(&self) -> Vec<Uuid> {
        self.rows.iter().map(|r| r.id).collect()
    }

    /// How many orders `customer` has (with `status`, when given).
    pub async fn order_count(
        &self,
        reads: &Leases,
        customer: Uuid,
        status: Option<Status>,
    ) -> async_graphql::Result<i64> {
        let cell = self
            .counts
            .lock()
            .map_err(|_| errors::unexpected("a poisoned lock"))?
            .entry(status)
            .or_default()
            .clone();
        let counts = cell
            .get_or_try_init(|| async {
                let counts = pages::order_counts_of_customers(reads, &self.ids(), status).await?;
                Ok::<_, sqlx::Error>(counts.into_iter().collect())
            })
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(counts.get(&customer).copied().unwrap_or(0))
    }

    /// `customer`'s page of orders (up to `first + 1`).
    async fn orders(
        &self,
        reads: &Leases,
        customer: Uuid,
        args: PageArgs,
    ) -> async_graphql::Result<Vec<Order>> {
        let cell = self
            .orders
            .lock()
            .map_err(|_| errors::unexpected("a poisoned lock"))?
            .entry(args)
            .or_default()
            .clone();
        let (status, first, after) = args;
        let pages = cell
            .get_or_try_init(|| async {
                let rows =
                    pages::orders_of_customers(reads, &self.ids(), status, first, after).await?;
                let mut pages: HashMap<Uuid, Vec<Order>> = HashMap::new();
                for order in OrderSet::orders(rows) {
                    pages
                        .entry(order.row().customer_id)
                        .or_default()
                        .push(order);
                }
                Ok::<_, sqlx::Error>(pages)
            })
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(pages.get(&customer).cloned().unwrap_or_default())
    }
}

#[derive(Debug, Clone)]
pub struct Customer {
    set: Arc<CustomerSet>,
    index: usize,
}

impl Customer {
    fn row(&self) -> &CustomerRow {
        &self.set.rows[self.index]
    }

    pub fn registered_at_cursor(&self) -> String {
        TimeCursor {
            at: self.row().registered_at,
            id: self.row().id,
        }
        .encode()
    }
}

#[Object]
impl Customer {
    async fn id(&self) -> ID {
        ID(self.row().id.to_string())
    }

    async fn name(&self) -> &str {
        &self.row().name
    }

    async fn email(&self) -> &str {
        &self.row().email
    }

    async fn addresses(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Address>> {
        let reads = ctx.data_unchecked::<Leases>();
        let all = self
            .set
            .addresses
            .get_or_try_init(|| async { fetch::addresses(reads, &self.set.ids()).await })
            .await
            .map_err(|e| errors::database(&e))?;
        Ok(all
            .get(&self.row().id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|a| {
                Address::new(
                    a.address_id,
                    a.label.as_deref(),
                    &a.line1,
                    a.line2.as_deref(),
                    &a.city,
                    &a.postal_code,
                    &a.country,
                )
            })
            .collect())
    }

    async fn registered_at(&self) -> DateTime {
        self.row().registered_at.into()
    }

    async fn order_count(&self) -> i32 {
        self.row().order_count
    }

    /// This customer's orders, newest first.
    #[graphql(complexity = "child_complexity * first.unwrap_or(20).clamp(1, 100) as usize")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        status: Option<OrderStatus>,
    ) -> async_graphql::Result<OrderConnection> {
        let first = page_size(first)?;
        let after = after.as_deref().map(TimeCursor::decode).transpose()?;
        let status = status.map(Status::from);
        let reads = ctx.data_unchecked::<Leases>();
        let orders = self
            .set
            .orders(reads, self.row().id, (status, first, after))
            .await?;
        Ok(OrderConnection::new(
            Page::of(orders, first),
            OrderCount::OfCustomer {
                set: self.set.clone(),
                customer: self.row().id,
                status,
            },
        ))
    }
}
