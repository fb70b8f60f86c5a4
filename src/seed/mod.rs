//! `oms seed`: fills the database with demo data through the domain's command path, the
//! way users would have: customers register and add addresses, staff define the catalog,
//! customers place orders, order-fulfillment (running in this process, or in any running
//! `oms serve`) confirms or rejects them, customers pay or cancel, staff dispatch and
//! deliver shipments.
//!
//! [`plan`] draws everything from the seed; this module runs the plan in steps, each a
//! series of batches of commands run by the command API's own code in this process
//! (`command_api::bulk`: every command built and validated by its route's code, decided by
//! its aggregate, a batch appended in one transaction), waiting between steps until
//! order-fulfillment has decided on everything before, so every command meets the state it
//! expects; the read models catch up at the end, in large batches. The same seed gives the
//! same events with the same contents; ids, times and the interleaving of concurrent
//! batches in the log differ from run to run.
//!
//! Its connections commit asynchronously ([`crate::database::Database::bulk`]): demo data
//! need not wait for the disk, and a crash mid-seed leaves a consistent log.

mod names;
pub mod plan;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use command_api::bulk::{Answers, Bulk};
use command_api::{Accepted, AppState};
use domain::clock::{SharedClock, SystemClock};
use domain::input::{
    AddAddressInput, CancelOrderInput, DefineProductInput, DispatchShipmentInput, MoneyInput,
    OrderLineInput, PayOrderInput, PlaceOrderInput, RegisterCustomerInput,
};
use domain::values::{Currency, Money};
use event_store::EventLog;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use projections::runtime::{Runtime, RuntimeOptions};

use self::plan::{End, Plan, Sizes};
use crate::progress::Progress;

/// What the steps wait for between them: the decisions the next step builds on.
const FULFILLMENT: &[&str] = &[projections::fulfillment::NAME];

/// Events per transaction of order-fulfillment and the read models (a rebuild's size:
/// the steps wait for whole steps, so latency does not matter, only throughput).
const BACKGROUND_BATCH: u32 = 5_000;

/// Commands per batch: one statement loads their aggregates, one transaction appends
/// their events.
const BATCH: usize = 1_000;

/// Batches in flight at once: one is decided while another commits.
const IN_FLIGHT: usize = 2;

/// How often the projections' checkpoints are read while waiting for them.
const POLL: Duration = Duration::from_millis(50);

/// Runs the plan for `sizes` on `log` (whose connections may commit asynchronously:
/// see [`crate::database::Database::bulk`]), with the projectors of this process.
pub async fn seed(log: &EventLog, sizes: Sizes) -> anyhow::Result<()> {
    let started = Instant::now();
    let plan = Plan::new(sizes);
    if sizes.orders > 0 && plan.orders.is_empty() {
        anyhow::bail!("orders need at least one customer and one product");
    }
    event_store::migrate(log.pool())
        .await
        .context("applying migrations")?;
    let clock: SharedClock = Arc::new(SystemClock);
    let bulk = Bulk::new(AppState::new(log.clone(), clock.clone()));
    // order-fulfillment decides while the commands run, and the read models follow all
    // along, as in `oms serve` (a running `oms serve` may run them instead).
    let fulfillment = Runtime::new(
        log.clone(),
        vec![projections::fulfillment::order_fulfillment(
            log.clone(),
            clock.clone(),
        )],
        RuntimeOptions {
            batch_size: BACKGROUND_BATCH,
            ..RuntimeOptions::default()
        },
    )
    .spawn();
    let read_models = Runtime::new(
        log.clone(),
        projections::read_models(),
        RuntimeOptions {
            batch_size: BACKGROUND_BATCH,
            ..RuntimeOptions::default()
        },
    )
    .spawn();
    let result = match run(log, &bulk, &plan).await {
        Ok(()) => settle(log, &projections::names()).await,
        Err(error) => Err(error),
    };
    read_models.stop().await;
    fulfillment.stop().await;
    result?;
    let head = log.head_position().await?;
    eprintln!(
        "seeded {} customers, {} products and {} orders ({}) in {:.1} s; the log ends at position {head}",
        plan.customers.len(),
        plan.products.len(),
        plan.orders.len(),
        summary(&plan),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn run(log: &EventLog, bulk: &Bulk, plan: &Plan) -> anyhow::Result<()> {
    let customers = register_customers(bulk, plan).await?;
    define_products(bulk, plan).await?;
    let orders = place_orders(bulk, plan, &customers).await?;
    settle(log, FULFILLMENT).await?;

    step("pay orders", plan.ending(End::is_paid), |batch| {
        let inputs = batch
            .iter()
            .map(|&n| {
                let input = PayOrderInput {
                    amount: Some(money(plan.total(&plan.orders[n]))),
                    method: Some(plan.orders[n].method.to_owned()),
                    reference: Some(format!("PAY-{:08}", n + 1)),
                };
                (orders[n].clone(), input)
            })
            .collect();
        let bulk = bulk.clone();
        async move { accepted("pay", bulk.pay_orders(inputs).await) }
    })
    .await?;
    let unpaid = plan.ending(|end| end == End::CancelledUnpaid);
    step("cancel unpaid orders", unpaid, |batch| {
        cancel(bulk, plan, &orders, batch)
    })
    .await?;
    settle(log, FULFILLMENT).await?;

    step(
        "dispatch shipments",
        plan.ending(End::is_dispatched),
        |batch| {
            let inputs = batch
                .iter()
                .map(|&n| {
                    let (carrier, prefix) = names::CARRIERS[plan.orders[n].carrier];
                    let input = DispatchShipmentInput {
                        carrier: Some(carrier.to_owned()),
                        tracking_number: Some(format!("{prefix}{:010}", n + 1)),
                    };
                    (shipment(&orders[n]), input)
                })
                .collect();
            let bulk = bulk.clone();
            async move { accepted("dispatch", bulk.dispatch_shipments(inputs).await) }
        },
    )
    .await?;
    let paid = plan.ending(|end| end == End::CancelledPaid);
    step("cancel paid orders", paid, |batch| {
        cancel(bulk, plan, &orders, batch)
    })
    .await?;
    settle(log, FULFILLMENT).await?;

    let delivering = plan.ending(|end| end == End::Delivered);
    step("deliver shipments", delivering, |batch| {
        let ids = batch.iter().map(|&n| shipment(&orders[n])).collect();
        let bulk = bulk.clone();
        async move { accepted("deliver", bulk.deliver_shipments(ids).await) }
    })
    .await?;
    settle(log, FULFILLMENT).await
}

/// Registers every customer and adds its addresses; returns each customer's id and
/// address ids.
async fn register_customers(
    bulk: &Bulk,
    plan: &Plan,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let items = (0..plan.customers.len()).collect();
    let registered = step("register customers", items, |batch| {
        let customers: Vec<_> = batch.iter().map(|&n| plan.customers[n].clone()).collect();
        let bulk = bulk.clone();
        async move {
            let inputs = customers
                .iter()
                .map(|customer| RegisterCustomerInput {
                    name: Some(customer.name.clone()),
                    email: Some(customer.email.clone()),
                })
                .collect();
            let registered = accepted("register", bulk.register_customers(inputs).await)?;
            let customer_ids = ids(&registered, "id")?;
            let inputs = customers
                .iter()
                .zip(&customer_ids)
                .flat_map(|(customer, id)| {
                    customer.addresses.iter().map(|address| {
                        let input = AddAddressInput {
                            label: Some(address.label.to_owned()),
                            line1: Some(address.line1.clone()),
                            city: Some(address.city.to_owned()),
                            postal_code: Some(address.postal_code.clone()),
                            country: Some(address.country.to_owned()),
                            ..AddAddressInput::default()
                        };
                        (id.clone(), input)
                    })
                })
                .collect();
            let answers = accepted("add address", bulk.add_addresses(inputs).await)?;
            let mut addresses = ids(&answers, "address_id")?.into_iter();
            Ok(customers
                .iter()
                .zip(customer_ids)
                .map(|(customer, id)| {
                    let own = addresses.by_ref().take(customer.addresses.len()).collect();
                    (id, own)
                })
                .collect())
        }
    })
    .await?;
    Ok(registered)
}

async fn define_products(bulk: &Bulk, plan: &Plan) -> anyhow::Result<()> {
    let items = (0..plan.products.len()).collect();
    step("define products", items, |batch| {
        let inputs = batch
            .iter()
            .map(|&n| {
                let product = &plan.products[n];
                DefineProductInput {
                    sku: Some(product.sku.clone()),
                    name: Some(product.name.clone()),
                    price: Some(money(product.price)),
                    stock: Some(i64::from(product.stock)),
                }
            })
            .collect();
        let bulk = bulk.clone();
        async move { accepted("define", bulk.define_products(inputs).await) }
    })
    .await
    .map(drop)
}

/// Places every order; returns their ids.
async fn place_orders(
    bulk: &Bulk,
    plan: &Plan,
    customers: &[(String, Vec<String>)],
) -> anyhow::Result<Vec<String>> {
    let items = (0..plan.orders.len()).collect();
    let placed = step("place orders", items, |batch| {
        let inputs = batch
            .iter()
            .map(|&n| {
                let order = &plan.orders[n];
                let (customer, addresses) = &customers[order.customer];
                let lines = order
                    .lines
                    .iter()
                    .map(|(product, quantity)| OrderLineInput {
                        sku: Some(plan.products[*product].sku.clone()),
                        quantity: Some(i64::from(*quantity)),
                    })
                    .collect();
                PlaceOrderInput {
                    customer_id: Some(customer.clone()),
                    shipping_address_id: Some(addresses[order.address].clone()),
                    lines: Some(lines),
                }
            })
            .collect();
        let bulk = bulk.clone();
        async move { ids(&accepted("place", bulk.place_orders(inputs).await)?, "id") }
    })
    .await?;
    Ok(placed)
}

fn cancel(
    bulk: &Bulk,
    plan: &Plan,
    orders: &[String],
    batch: &[usize],
) -> impl Future<Output = anyhow::Result<Vec<Accepted>>> + Send + 'static {
    let inputs = batch
        .iter()
        .map(|&n| {
            let input = CancelOrderInput {
                reason: Some(plan.orders[n].reason.to_owned()),
            };
            (orders[n].clone(), input)
        })
        .collect();
    let bulk = bulk.clone();
    async move { accepted("cancel", bulk.cancel_orders(inputs).await) }
}

/// The shipment order-fulfillment created for a paid order.
fn shipment(order: &str) -> String {
    order
        .parse()
        .map(domain::values::ShipmentId::for_order)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Every command's success, or the first refusal (naming the command and the problem).
fn accepted(
    command: &str,
    answers: Result<Answers, command_api::ApiError>,
) -> anyhow::Result<Vec<Accepted>> {
    let refused = |error: command_api::ApiError| {
        anyhow::anyhow!(
            "{command} was refused: {} {}: {error}",
            error.status().as_u16(),
            error.problem().slug
        )
    };
    answers
        .map_err(refused)?
        .into_iter()
        .map(|answer| answer.map_err(refused))
        .collect()
}

/// The string field `key` of every answer (the ids they created).
fn ids(answers: &[Accepted], key: &str) -> anyhow::Result<Vec<String>> {
    answers
        .iter()
        .map(|answer| {
            answer
                .field(key)
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("an answer without {key}: {}", answer.body))
        })
        .collect()
}

/// Runs `items` in batches of [`BATCH`], [`IN_FLIGHT`] at a time on the runtime's
/// threads, showing progress; `batch` runs one, answering a result per item. Returns the
/// results in the items' order. The first failure stops the step.
async fn step<T, F, Fut>(label: &str, items: Vec<usize>, batch: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(&[usize]) -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<T>>> + Send + 'static,
    T: Send + 'static,
{
    let mut progress = Progress::new(label, "commands", items.len() as u64);
    let results: Vec<Vec<T>> = stream::iter(items.chunks(BATCH).map(|chunk| {
        let run = tokio::spawn(batch(chunk));
        async move { run.await? }
    }))
    .buffered(IN_FLIGHT)
    .inspect_ok(|done| progress.advance(done.len() as u64))
    .try_collect()
    .await
    .with_context(|| format!("seeding failed at: {label}"))?;
    progress.finish();
    Ok(results.into_iter().flatten().collect())
}

/// Waits until each of `names` has applied the whole log (and order-fulfillment appended
/// nothing more meanwhile). A FAILED projection stops the seed. It compares checkpoints
/// with the log's last event, which costs the same however far behind they are: counting
/// what is left would read all of it at every look. Progress counts positions.
async fn settle(log: &EventLog, names: &[&str]) -> anyhow::Result<()> {
    // The log grew in bulk since the last step, faster than autovacuum follows: its
    // statistics are brought up to date, as after any bulk load. With a table ten times
    // the size its statistics say, the followers' reads sorted all that was left of the
    // log at every batch instead of walking the log-order index.
    sqlx::query("ANALYZE events")
        .execute(log.pool())
        .await
        .context("analyzing the log")?;
    let mut progress: Option<(Progress, u64)> = None;
    let mut settled_at = None;
    loop {
        let last = log.last().await?;
        let checkpoints = projections::status::checkpoints(log, names).await?;
        if let Some(failed) = checkpoints
            .iter()
            .find(|c| c.state == projections::status::FAILED)
        {
            anyhow::bail!(
                "projection {} FAILED: {}",
                failed.name,
                failed.last_error.as_deref().unwrap_or("no error recorded")
            );
        }
        if checkpoints.iter().all(|c| c.at >= last) {
            // Twice at the same end: nothing was appended in between.
            if settled_at == Some(last) {
                if let Some((mut progress, first)) = progress {
                    progress.update(first, first);
                    progress.finish();
                }
                return Ok(());
            }
            settled_at = Some(last);
        } else {
            settled_at = None;
            let behind = checkpoints
                .iter()
                .map(|c| last.position.saturating_sub(c.at.position))
                .max()
                .unwrap_or(0);
            let behind = u64::try_from(behind).unwrap_or(0);
            let (progress, first) = progress.get_or_insert_with(|| {
                (
                    Progress::new("projections catch up", "events", behind),
                    behind,
                )
            });
            *first = (*first).max(behind);
            progress.update(*first - behind, *first);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Cents of the plan's currency as the API takes money.
fn money(cents: i64) -> MoneyInput {
    let amount =
        Currency::parse(plan::CURRENCY).map(|euro| Money::from_minor(cents, euro).amount());
    MoneyInput {
        amount: Some(amount.unwrap_or_default()),
        currency: Some(plan::CURRENCY.to_owned()),
    }
}

/// How many orders end in each status.
fn summary(plan: &Plan) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for order in &plan.orders {
        *counts.entry(order.end.status()).or_insert(0_usize) += 1;
    }
    counts
        .iter()
        .map(|(status, n)| format!("{n} {status}"))
        .collect::<Vec<_>>()
        .join(", ")
}
