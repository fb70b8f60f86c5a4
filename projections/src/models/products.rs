//! `products`: the catalog with stock (`on_hand`, `reserved`; available is derived).

use std::collections::HashMap;

use domain::ProductEvent;
use futures_util::future::BoxFuture;
use serde::Serialize;
use sqlx::PgConnection;

use super::write::{rows_by_key, OnConflict, Table};
use crate::decode::{Envelope, Event};
use crate::runtime::{Changed, Projection};

#[derive(Debug, Clone, Default)]
pub struct ProductsProjection;

const PRODUCTS: Table = Table {
    name: "products",
    key: &["sku"],
    columns: &[
        ("sku", "text"),
        ("name", "text"),
        ("price_minor", "bigint"),
        ("currency", "text"),
        ("on_hand", "bigint"),
        ("reserved", "bigint"),
        ("version", "bigint"),
    ],
};

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
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
    ) -> BoxFuture<'a, anyhow::Result<Changed>> {
        Box::pin(async move {
            let skus: Vec<String> = events
                .iter()
                .filter(|e| matches!(e.event, Event::Product(_)))
                .map(|e| e.aggregate_id.clone())
                .collect();
            let sql = format!(
                "SELECT {} FROM products WHERE sku = ANY($1)",
                PRODUCTS.select_list()
            );
            let mut rows: HashMap<String, Row> =
                rows_by_key(tx, &sql, skus, |row: &Row| row.sku.clone()).await?;
            for envelope in events {
                let Event::Product(event) = &envelope.event else {
                    continue;
                };
                fold(&mut rows, envelope, event)?;
            }
            let rows: Vec<Row> = rows.into_values().collect();
            PRODUCTS.write(tx, &rows, OnConflict::Update).await?;
            Ok(Changed::new())
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
