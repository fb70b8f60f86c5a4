//! `products`: the catalog with stock (`on_hand`, `reserved`; available is derived).

use std::collections::HashMap;

use domain::ProductEvent;
use sqlx::PgConnection;

use super::ReadModel;
use crate::decode::{Envelope, Event};
use crate::runtime::Changed;
use crate::tables::products::ProductRow as Row;
use crate::tables::{rows_by_key, OnConflict};

#[derive(Debug, Clone, Default)]
pub struct ProductsProjection;

impl ReadModel for ProductsProjection {
    const NAME: &'static str = "products";
    const READS: &'static [&'static str] = &[domain::events::PRODUCT];
    const TABLES: &'static [&'static str] = &[Row::TABLE.name];

    async fn fold(&self, tx: &mut PgConnection, events: &[Envelope]) -> anyhow::Result<Changed> {
        let skus: Vec<String> = events
            .iter()
            .filter(|e| matches!(e.event, Event::Product(_)))
            .map(|e| e.aggregate_id.clone())
            .collect();
        let sql = format!(
            "SELECT {} FROM products WHERE sku = ANY($1)",
            Row::TABLE.select
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
        Row::TABLE.write(tx, &rows, OnConflict::Update).await?;
        Ok(Changed::new())
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
