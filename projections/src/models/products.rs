//! `products`: the catalog with stock (`on_hand`, `reserved`; available is derived).

use std::collections::HashMap;

use domain::ProductEvent;
use futures_util::future::BoxFuture;
use sqlx::PgConnection;

use super::write::rows_by_key;
use crate::decode::{Envelope, Event};
use crate::runtime::Projection;

#[derive(Debug, Clone, Default)]
pub struct ProductsProjection;

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    sku: String,
    name: String,
    price_minor: i64,
    currency: String,
    on_hand: i64,
    reserved: i64,
    version: i64,
}

impl Projection for ProductsProjection {
    fn name(&self) -> &'static str {
        "products"
    }

    fn aggregate_types(&self) -> &'static [&'static str] {
        &[domain::events::PRODUCT]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["products"]
    }

    fn apply<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        events: &'a [Envelope],
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let skus: Vec<String> = events
                .iter()
                .filter(|e| matches!(e.event, Event::Product(_)))
                .map(|e| e.aggregate_id.clone())
                .collect();
            let mut rows: HashMap<String, Row> = rows_by_key(
                tx,
                "SELECT sku, name, price_minor, currency, on_hand, reserved, version FROM products WHERE sku = ANY($1)",
                skus,
                |row: &Row| row.sku.clone(),
            )
            .await?;
            for envelope in events {
                let Event::Product(event) = &envelope.event else {
                    continue;
                };
                fold(&mut rows, envelope, event)?;
            }
            upsert(tx, rows.into_values().collect()).await
        })
    }
}

fn fold(
    rows: &mut HashMap<String, Row>,
    envelope: &Envelope,
    event: &ProductEvent,
) -> anyhow::Result<()> {
    if let ProductEvent::ProductDefined {
        sku,
        name,
        price,
        stock,
    } = event
    {
        rows.insert(
            envelope.aggregate_id.clone(),
            Row {
                sku: sku.to_string(),
                name: name.to_string(),
                price_minor: price.minor(),
                currency: price.currency().to_string(),
                on_hand: i64::from(*stock),
                reserved: 0,
                version: envelope.sequence,
            },
        );
        return Ok(());
    }
    let row = rows.get_mut(&envelope.aggregate_id).ok_or_else(|| {
        anyhow::anyhow!(
            "product {} changed before it was defined",
            envelope.aggregate_id
        )
    })?;
    match event {
        ProductEvent::ProductDefined { .. } => {}
        ProductEvent::ProductPriceChanged { price } => {
            row.price_minor = price.minor();
            row.currency = price.currency().to_string();
        }
        ProductEvent::ProductRestocked { quantity } => row.on_hand += i64::from(quantity.get()),
        ProductEvent::StockReserved { quantity, .. } => row.reserved += i64::from(quantity.get()),
        ProductEvent::StockReleased { quantity, .. } => row.reserved -= i64::from(*quantity),
        ProductEvent::StockShipped { quantity, .. } => {
            row.on_hand -= i64::from(*quantity);
            row.reserved -= i64::from(*quantity);
        }
    }
    row.version = envelope.sequence;
    Ok(())
}

async fn upsert(tx: &mut PgConnection, rows: Vec<Row>) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    let (mut skus, mut names, mut prices, mut currencies) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut on_hand, mut reserved, mut versions) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for row in rows {
        skus.push(row.sku);
        names.push(row.name);
        prices.push(row.price_minor);
        currencies.push(row.currency);
        on_hand.push(row.on_hand);
        reserved.push(row.reserved);
        versions.push(row.version);
    }
    sqlx::query(
        "INSERT INTO products (sku, name, price_minor, currency, on_hand, reserved, version)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[])
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_minor = excluded.price_minor,
             currency = excluded.currency, on_hand = excluded.on_hand, reserved = excluded.reserved,
             version = excluded.version",
    )
    .bind(skus)
    .bind(names)
    .bind(prices)
    .bind(currencies)
    .bind(on_hand)
    .bind(reserved)
    .bind(versions)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
