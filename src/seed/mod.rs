//! `oms seed`: fills the database with demo data through the command API, the way users
//! would have: customers register and add addresses, staff define the catalog, customers
//! place orders, order-fulfillment (running in this process, or in any running
//! `oms serve`) confirms or rejects them, customers pay or cancel, staff dispatch and
//! deliver shipments.
//!
//! [`plan`] draws everything from the seed; this module runs the plan in steps (each
//! many commands at a time), waiting between steps until order-fulfillment has decided on
//! everything before, so every command meets the state it expects; the read models catch
//! up at the end, in large batches. The same seed gives the same events with the same
//! contents; ids, times and the interleaving of concurrent commands in the log differ
//! from run to run.
//!
//! Its connections commit asynchronously ([`crate::database::Database::bulk`]): demo data
//! need not wait for the disk, and a crash mid-seed leaves a consistent log.

mod commands;
mod names;
pub mod plan;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::clock::{SharedClock, SystemClock};
use event_store::EventLog;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use projections::runtime::{Runtime, RuntimeOptions};
use serde_json::json;

use self::commands::Commands;
use domain::values::{Currency, Money};

use self::plan::{End, Plan, Sizes};
use crate::progress::Progress;

/// What the steps wait for between them: the decisions the next step builds on.
const FULFILLMENT: &[&str] = &[projections::fulfillment::NAME];

/// Events per transaction while the read models catch up at the end (a rebuild's size:
/// nobody reads them meanwhile, so latency does not matter, only throughput).
const CATCH_UP_BATCH: u32 = 5_000;

/// Commands in flight at once.
const CONCURRENCY: usize = 32;

/// How often the projections' positions are read while waiting for them.
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
    let commands = Commands::new(command_api::router(command_api::AppState::new(
        log.clone(),
        clock.clone(),
    )));
    // order-fulfillment decides while the commands run; the read models follow once they
    // are done, in large batches (or all along, in a running `oms serve`).
    let fulfillment = Runtime::new(
        log.clone(),
        vec![projections::fulfillment::order_fulfillment(
            log.clone(),
            clock.clone(),
        )],
        RuntimeOptions::default(),
    )
    .spawn();
    let result = run(log, &commands, &plan).await;
    let result = match result {
        Ok(()) => {
            // The log was written in bulk, faster than autovacuum follows: its statistics
            // are brought up to date before the read models read it from the start, as
            // after any bulk load. With a table ten times the size its statistics say,
            // the reader's plan sorted all that was left of the log at every batch
            // instead of walking the log-order index.
            sqlx::query("ANALYZE events")
                .execute(log.pool())
                .await
                .context("analyzing the log")?;
            let read_models = Runtime::new(
                log.clone(),
                projections::read_models(),
                RuntimeOptions {
                    batch_size: CATCH_UP_BATCH,
                    ..RuntimeOptions::default()
                },
            )
            .spawn();
            let caught_up = settle(log, &projections::names()).await;
            read_models.stop().await;
            caught_up
        }
        Err(error) => Err(error),
    };
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

async fn run(log: &EventLog, commands: &Commands, plan: &Plan) -> anyhow::Result<()> {
    let customers = register_customers(commands, plan).await?;
    define_products(commands, plan).await?;
    let orders = place_orders(commands, plan, &customers).await?;
    settle(log, FULFILLMENT).await?;

    step("pay orders", plan.ending(End::is_paid), |n| {
        let body = json!({
            "amount": money(plan.total(&plan.orders[n])),
            "method": plan.orders[n].method,
            "reference": format!("PAY-{:08}", n + 1),
        });
        commands.posting(format!("/orders/{}/pay", orders[n]), body)
    })
    .await?;
    let unpaid = plan.ending(|end| end == End::CancelledUnpaid);
    step("cancel unpaid orders", unpaid, |n| {
        cancel(commands, plan, &orders, n)
    })
    .await?;
    settle(log, FULFILLMENT).await?;

    step("dispatch shipments", plan.ending(End::is_dispatched), |n| {
        let (carrier, prefix) = names::CARRIERS[plan.orders[n].carrier];
        let body = json!({
            "carrier": carrier,
            "tracking_number": format!("{prefix}{:010}", n + 1),
        });
        commands.posting(
            format!("/shipments/{}/dispatch", shipment(&orders[n])),
            body,
        )
    })
    .await?;
    let paid = plan.ending(|end| end == End::CancelledPaid);
    step("cancel paid orders", paid, |n| {
        cancel(commands, plan, &orders, n)
    })
    .await?;
    settle(log, FULFILLMENT).await?;

    let delivering = plan.ending(|end| end == End::Delivered);
    step("deliver shipments", delivering, |n| {
        commands.posting(
            format!("/shipments/{}/deliver", shipment(&orders[n])),
            json!({}),
        )
    })
    .await?;
    settle(log, FULFILLMENT).await
}

/// Registers every customer and adds its addresses; returns each customer's id and
/// address ids.
async fn register_customers(
    commands: &Commands,
    plan: &Plan,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    step(
        "register customers",
        (0..plan.customers.len()).collect(),
        |n| {
            let customer = plan.customers[n].clone();
            let commands = commands.clone();
            async move {
                let body = json!({ "name": customer.name, "email": customer.email });
                let id = commands.post_for("/customers", &body, "id").await?;
                let mut addresses = Vec::with_capacity(customer.addresses.len());
                for address in &customer.addresses {
                    let body = json!({
                        "label": address.label,
                        "line1": address.line1,
                        "city": address.city,
                        "postal_code": address.postal_code,
                        "country": address.country,
                    });
                    let path = format!("/customers/{id}/addresses");
                    addresses.push(commands.post_for(&path, &body, "address_id").await?);
                }
                Ok((id, addresses))
            }
        },
    )
    .await
}

async fn define_products(commands: &Commands, plan: &Plan) -> anyhow::Result<()> {
    step("define products", (0..plan.products.len()).collect(), |n| {
        let product = &plan.products[n];
        let body = json!({
            "sku": product.sku,
            "name": product.name,
            "price": money(product.price),
            "stock": product.stock,
        });
        commands.posting("/products".to_owned(), body)
    })
    .await
    .map(drop)
}

/// Places every order; returns their ids.
async fn place_orders(
    commands: &Commands,
    plan: &Plan,
    customers: &[(String, Vec<String>)],
) -> anyhow::Result<Vec<String>> {
    step("place orders", (0..plan.orders.len()).collect(), |n| {
        let order = &plan.orders[n];
        let (customer, addresses) = &customers[order.customer];
        let lines: Vec<_> = order
            .lines
            .iter()
            .map(|(product, quantity)| {
                json!({ "sku": plan.products[*product].sku, "quantity": quantity })
            })
            .collect();
        let body = json!({
            "customer_id": customer,
            "shipping_address_id": addresses[order.address],
            "lines": lines,
        });
        let commands = commands.clone();
        async move { commands.post_for("/orders", &body, "id").await }
    })
    .await
}

fn cancel(
    commands: &Commands,
    plan: &Plan,
    orders: &[String],
    n: usize,
) -> impl Future<Output = anyhow::Result<()>> + Send + 'static {
    let body = json!({ "reason": plan.orders[n].reason });
    commands.posting(format!("/orders/{}/cancel", orders[n]), body)
}

/// The shipment order-fulfillment created for a paid order.
fn shipment(order: &str) -> String {
    order
        .parse()
        .map(domain::values::ShipmentId::for_order)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// Runs `command` for each of `items`, [`CONCURRENCY`] at a time on the runtime's
/// threads, showing progress; returns the results in the items' order. The first failure
/// stops the step.
async fn step<T, F, Fut>(label: &str, items: Vec<usize>, command: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut progress = Progress::new(label, "commands", items.len() as u64);
    let mut results: Vec<(usize, T)> = stream::iter(items.into_iter().map(|n| {
        let run = tokio::spawn(command(n));
        async move { run.await?.map(|result| (n, result)) }
    }))
    .buffer_unordered(CONCURRENCY)
    .inspect_ok(|_| progress.advance())
    .try_collect()
    .await
    .with_context(|| format!("seeding failed at: {label}"))?;
    progress.finish();
    results.sort_unstable_by_key(|(n, _)| *n);
    Ok(results.into_iter().map(|(_, result)| result).collect())
}

/// Waits until each of `names` has applied the whole log (and order-fulfillment appended
/// nothing more meanwhile). A FAILED projection stops the seed.
async fn settle(log: &EventLog, names: &[&str]) -> anyhow::Result<()> {
    let mut progress: Option<(Progress, u64)> = None;
    let mut settled_at = None;
    loop {
        let statuses = projections::status::status(log, names).await?;
        if let Some(failed) = statuses
            .iter()
            .find(|s| s.state == projections::status::FAILED)
        {
            anyhow::bail!(
                "projection {} FAILED: {}",
                failed.name,
                failed.last_error.as_deref().unwrap_or("no error recorded")
            );
        }
        let head = statuses.first().map_or(0, |s| s.head_position);
        let behind = statuses.iter().map(|s| s.lag).max().unwrap_or(0);
        if behind == 0 {
            // Twice at the same head: nothing was appended in between.
            if settled_at == Some(head) {
                if let Some((mut progress, first)) = progress {
                    progress.update(first, first);
                    progress.finish();
                }
                return Ok(());
            }
            settled_at = Some(head);
        } else {
            settled_at = None;
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
fn money(cents: i64) -> serde_json::Value {
    let amount =
        Currency::parse(plan::CURRENCY).map(|euro| Money::from_minor(cents, euro).amount());
    json!({ "amount": amount.unwrap_or_default(), "currency": plan::CURRENCY })
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
