//! Products: the catalog entry and its stock.
//!
//! Stock is `on_hand` (on the shelf) and `reserved` (promised to orders);
//! `available = on_hand - reserved` is never negative. The product keeps totals only, so
//! its state (and its snapshot) stays the same size however many orders it has served:
//! which orders hold stock, and how much, is the orders' own knowledge. Reserving,
//! releasing and shipping are sent by the fulfilment process, which reacts to each order
//! event exactly once (its effects commit with its checkpoint), with the quantities of the
//! order's lines.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::events::{self, EventKind};
use crate::order::ProductFacts;
use crate::problem::{DomainError, Problem};
use crate::values::{Money, OrderId, ProductName, Quantity, Sku, StockLevel};

/// A product. Its aggregate id is its sku.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    defined: Option<Defined>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Defined {
    sku: Sku,
    name: ProductName,
    price: Money,
    on_hand: u64,
    reserved: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProductCommand {
    Define {
        sku: Sku,
        name: ProductName,
        price: Money,
        stock: StockLevel,
    },
    ChangePrice {
        price: Money,
    },
    Restock {
        quantity: Quantity,
    },
    /// Reserve stock for an order line (order fulfilment).
    Reserve {
        order_id: OrderId,
        quantity: Quantity,
    },
    /// Give an order line's reserved stock back (order cancelled).
    Release {
        order_id: OrderId,
        quantity: Quantity,
    },
    /// An order line's reserved stock leaves the shelf (shipment dispatched).
    Ship {
        order_id: OrderId,
        quantity: Quantity,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProductEvent {
    ProductDefined {
        sku: Sku,
        name: ProductName,
        price: Money,
        stock: u32,
    },
    ProductPriceChanged {
        price: Money,
    },
    ProductRestocked {
        quantity: Quantity,
    },
    StockReserved {
        order_id: OrderId,
        quantity: Quantity,
    },
    StockReleased {
        order_id: OrderId,
        quantity: u32,
    },
    StockShipped {
        order_id: OrderId,
        quantity: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    #[error("no such product")]
    NotFound,
    #[error("a product with sku {0} exists")]
    SkuTaken(Sku),
    #[error("only {available} of {sku} available, {requested} requested")]
    InsufficientStock {
        sku: Sku,
        requested: u32,
        available: u64,
    },
    #[error("restocking would exceed the stock a product can hold")]
    StockOverflow,
    #[error("only {reserved} of {sku} reserved, {requested} to release or ship")]
    NotReserved {
        sku: Sku,
        requested: u32,
        reserved: u64,
    },
}

impl DomainError for ProductError {
    fn problem(&self) -> Problem {
        match self {
            Self::NotFound => Problem::NotFound,
            Self::SkuTaken(_) => Problem::SkuTaken,
            Self::InsufficientStock { .. } | Self::StockOverflow | Self::NotReserved { .. } => {
                Problem::InvalidTransition
            }
        }
    }
}

impl ProductEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::ProductDefined { .. } => events::PRODUCT_DEFINED,
            Self::ProductPriceChanged { .. } => events::PRODUCT_PRICE_CHANGED,
            Self::ProductRestocked { .. } => events::PRODUCT_RESTOCKED,
            Self::StockReserved { .. } => events::STOCK_RESERVED,
            Self::StockReleased { .. } => events::STOCK_RELEASED,
            Self::StockShipped { .. } => events::STOCK_SHIPPED,
        }
    }
}

impl DomainEvent for ProductEvent {
    fn event_type(&self) -> String {
        self.kind().event_type.to_owned()
    }
    fn event_version(&self) -> String {
        self.kind().version.to_owned()
    }
}

impl Product {
    pub fn is_defined(&self) -> bool {
        self.defined.is_some()
    }

    pub fn price(&self) -> Option<Money> {
        self.defined.as_ref().map(|p| p.price)
    }

    pub fn on_hand(&self) -> u64 {
        self.defined.as_ref().map_or(0, |p| p.on_hand)
    }

    pub fn reserved(&self) -> u64 {
        self.defined.as_ref().map_or(0, |p| p.reserved)
    }

    pub fn available(&self) -> u64 {
        self.on_hand() - self.reserved()
    }

    /// What placing an order captures from this product (`None`: not defined).
    pub fn facts(&self) -> Option<ProductFacts> {
        let product = self.defined.as_ref()?;
        Some(ProductFacts {
            name: product.name.clone(),
            price: product.price,
        })
    }
}

impl Defined {
    /// `quantity` as released or shipped: it must be reserved.
    fn reserved_for(&self, quantity: Quantity) -> Result<u32, ProductError> {
        if self.reserved < u64::from(quantity.get()) {
            return Err(ProductError::NotReserved {
                sku: self.sku.clone(),
                requested: quantity.get(),
                reserved: self.reserved,
            });
        }
        Ok(quantity.get())
    }
}

impl Aggregate for Product {
    const TYPE: &'static str = events::PRODUCT;
    type Command = ProductCommand;
    type Event = ProductEvent;
    type Error = ProductError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ProductCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ProductError> {
        let event = match (command, &self.defined) {
            (ProductCommand::Define { sku, .. }, Some(_)) => {
                return Err(ProductError::SkuTaken(sku))
            }
            (
                ProductCommand::Define {
                    sku,
                    name,
                    price,
                    stock,
                },
                None,
            ) => ProductEvent::ProductDefined {
                sku,
                name,
                price,
                stock: stock.get(),
            },
            (_, None) => return Err(ProductError::NotFound),
            (ProductCommand::ChangePrice { price }, Some(product)) => {
                if price == product.price {
                    return Ok(());
                }
                ProductEvent::ProductPriceChanged { price }
            }
            (ProductCommand::Restock { quantity }, Some(product)) => {
                product
                    .on_hand
                    .checked_add(quantity.get().into())
                    .ok_or(ProductError::StockOverflow)?;
                ProductEvent::ProductRestocked { quantity }
            }
            (ProductCommand::Reserve { order_id, quantity }, Some(product)) => {
                let available = product.on_hand - product.reserved;
                if available < u64::from(quantity.get()) {
                    return Err(ProductError::InsufficientStock {
                        sku: product.sku.clone(),
                        requested: quantity.get(),
                        available,
                    });
                }
                ProductEvent::StockReserved { order_id, quantity }
            }
            (ProductCommand::Release { order_id, quantity }, Some(product)) => {
                ProductEvent::StockReleased {
                    order_id,
                    quantity: product.reserved_for(quantity)?,
                }
            }
            (ProductCommand::Ship { order_id, quantity }, Some(product)) => {
                ProductEvent::StockShipped {
                    order_id,
                    quantity: product.reserved_for(quantity)?,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: ProductEvent) {
        if let ProductEvent::ProductDefined {
            sku,
            name,
            price,
            stock,
        } = event
        {
            self.defined = Some(Defined {
                sku,
                name,
                price,
                on_hand: stock.into(),
                reserved: 0,
            });
            return;
        }
        let Some(product) = &mut self.defined else {
            return;
        };
        match event {
            ProductEvent::ProductDefined { .. } => {}
            ProductEvent::ProductPriceChanged { price } => product.price = price,
            ProductEvent::ProductRestocked { quantity } => {
                product.on_hand += u64::from(quantity.get());
            }
            ProductEvent::StockReserved { quantity, .. } => {
                product.reserved += u64::from(quantity.get());
            }
            ProductEvent::StockReleased { quantity, .. } => {
                product.reserved = product.reserved.saturating_sub(u64::from(quantity));
            }
            ProductEvent::StockShipped { quantity, .. } => {
                product.reserved = product.reserved.saturating_sub(u64::from(quantity));
                product.on_hand = product.on_hand.saturating_sub(u64::from(quantity));
            }
        }
    }
}
