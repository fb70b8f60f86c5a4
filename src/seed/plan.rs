//! What `oms seed` will do, drawn from the seed alone: customers, the catalog, and every
//! order with the end it is to reach. Nothing here depends on the database, on time or on
//! the order in which concurrent commands commit, so the same seed plans the same data.
//!
//! The ends are reached by commands only, and never by a race: a REJECTED order names a
//! sold-out product (no order ever reserves it), and every other product holds enough
//! stock for all orders that name it.

use fastrand::Rng;

use super::names::{self, Country};

/// Sizes of the demo data (`oms seed --customers --products --orders`) and its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub customers: usize,
    pub products: usize,
    pub orders: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub customers: Vec<CustomerPlan>,
    pub products: Vec<ProductPlan>,
    pub orders: Vec<OrderPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPlan {
    pub name: String,
    pub email: String,
    pub addresses: Vec<AddressPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPlan {
    pub label: &'static str,
    pub line1: String,
    pub city: &'static str,
    pub postal_code: String,
    pub country: &'static str,
}

/// The catalog's one currency.
pub const CURRENCY: &str = "EUR";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPlan {
    pub sku: String,
    pub name: String,
    /// Cents of [`CURRENCY`].
    pub price: i64,
    pub stock: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlan {
    /// Indexes into [`Plan::customers`] and that customer's addresses.
    pub customer: usize,
    pub address: usize,
    /// Indexes into [`Plan::products`], each at most once, with quantities.
    pub lines: Vec<(usize, u32)>,
    pub end: End,
    /// Payment, carrier and cancellation details.
    pub method: &'static str,
    pub carrier: usize,
    pub reason: &'static str,
}

/// The status an order is left in, and how it gets there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum End {
    /// Placed, then confirmed by order-fulfillment; nothing more.
    Confirmed,
    /// Confirmed, paid.
    Paid,
    /// Paid, its shipment dispatched.
    Shipped,
    /// Dispatched and delivered.
    Delivered,
    /// Confirmed, then cancelled by its customer.
    CancelledUnpaid,
    /// Paid, then cancelled before dispatch.
    CancelledPaid,
    /// Names a sold-out product: order-fulfillment rejects it.
    Rejected,
}

impl End {
    /// Out of 100 orders, how many end each way.
    const SHARES: [(Self, u32); 7] = [
        (Self::Confirmed, 12),
        (Self::Paid, 13),
        (Self::Shipped, 20),
        (Self::Delivered, 40),
        (Self::CancelledUnpaid, 5),
        (Self::CancelledPaid, 4),
        (Self::Rejected, 6),
    ];

    /// The order's final status (CONTRACT's names).
    pub fn status(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Paid => "PAID",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::CancelledUnpaid | Self::CancelledPaid => "CANCELLED",
            Self::Rejected => "REJECTED",
        }
    }

    pub fn is_paid(self) -> bool {
        matches!(
            self,
            Self::Paid | Self::Shipped | Self::Delivered | Self::CancelledPaid
        )
    }

    pub fn is_dispatched(self) -> bool {
        matches!(self, Self::Shipped | Self::Delivered)
    }

    fn draw(rng: &mut Rng, rejections: bool) -> Self {
        loop {
            let mut roll = rng.u32(0..100);
            for (end, share) in Self::SHARES {
                if roll < share {
                    if end == Self::Rejected && !rejections {
                        break;
                    }
                    return end;
                }
                roll -= share;
            }
        }
    }
}

/// At most this many lines per order.
const MAX_LINES: usize = 4;

/// Every `SOLD_OUT_EVERY`-th product has no stock (at least one when there are two).
const SOLD_OUT_EVERY: usize = 20;

impl Plan {
    pub fn new(sizes: Sizes) -> Self {
        let mut rng = Rng::with_seed(sizes.seed);
        let customers = (0..sizes.customers)
            .map(|n| customer(&mut rng, n))
            .collect::<Vec<_>>();
        let mut products = (0..sizes.products)
            .map(|n| product(&mut rng, n))
            .collect::<Vec<_>>();
        // Sold out: the last product of every SOLD_OUT_EVERY, never the only one.
        let sold_out: Vec<usize> = if products.len() < 2 {
            Vec::new()
        } else {
            (0..products.len())
                .filter(|n| n % SOLD_OUT_EVERY == SOLD_OUT_EVERY - 1 || *n == 1)
                .collect()
        };
        let in_stock: Vec<usize> = (0..products.len())
            .filter(|n| !sold_out.contains(n))
            .collect();
        let mut demand = vec![0_u32; products.len()];
        let orders = if customers.is_empty() || in_stock.is_empty() {
            Vec::new()
        } else {
            (0..sizes.orders)
                .map(|_| {
                    let end = End::draw(&mut rng, !sold_out.is_empty());
                    let customer = rng.usize(..customers.len());
                    let address = rng.usize(..customers[customer].addresses.len());
                    let mut lines = Vec::new();
                    for _ in 0..rng.usize(1..=MAX_LINES.min(in_stock.len())) {
                        let product = in_stock[rng.usize(..in_stock.len())];
                        if lines.iter().all(|(p, _)| *p != product) {
                            lines.push((product, quantity(&mut rng)));
                        }
                    }
                    if end == End::Rejected {
                        let product = sold_out[rng.usize(..sold_out.len())];
                        let at = rng.usize(..=lines.len());
                        lines.insert(at, (product, 1));
                    }
                    for (product, quantity) in &lines {
                        if !sold_out.contains(product) {
                            demand[*product] += quantity;
                        }
                    }
                    let carrier = rng.usize(..names::CARRIERS.len());
                    OrderPlan {
                        customer,
                        address,
                        lines,
                        end,
                        method: pick(&mut rng, names::PAYMENT_METHODS),
                        carrier,
                        reason: pick(&mut rng, names::CANCEL_REASONS),
                    }
                })
                .collect()
        };
        for (n, product) in products.iter_mut().enumerate() {
            product.stock = if sold_out.contains(&n) {
                0
            } else {
                demand[n] + rng.u32(0..200)
            };
        }
        Self {
            customers,
            products,
            orders,
        }
    }

    /// The orders that end as `end` says, by index.
    pub fn ending(&self, end: impl Fn(End) -> bool) -> Vec<usize> {
        (0..self.orders.len())
            .filter(|n| end(self.orders[*n].end))
            .collect()
    }

    /// An order's total in cents.
    pub fn total(&self, order: &OrderPlan) -> i64 {
        order
            .lines
            .iter()
            .map(|(product, quantity)| self.products[*product].price * i64::from(*quantity))
            .sum()
    }
}

fn pick<T: Copy>(rng: &mut Rng, from: &[T]) -> T {
    from[rng.usize(..from.len())]
}

/// Mostly one, sometimes a few.
fn quantity(rng: &mut Rng) -> u32 {
    match rng.u32(0..10) {
        0..=6 => 1,
        7 | 8 => rng.u32(2..=3),
        _ => rng.u32(4..=10),
    }
}

fn customer(rng: &mut Rng, n: usize) -> CustomerPlan {
    let given = pick(rng, names::GIVEN_NAMES);
    let family = pick(rng, names::FAMILY_NAMES);
    let local: String = format!("{given}.{family}")
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'ä' | 'á' => 'a',
            'é' | 'è' => 'e',
            'í' => 'i',
            'ö' | 'ó' => 'o',
            'ü' | 'ú' => 'u',
            ' ' | '\'' => '-',
            c => c,
        })
        .collect();
    let country = &names::COUNTRIES[rng.usize(..names::COUNTRIES.len())];
    let addresses = (0..rng.usize(1..=3))
        .map(|k| {
            // Mostly at home; another address now and then abroad.
            let country = if k == 0 || rng.u8(..4) > 0 {
                country
            } else {
                &names::COUNTRIES[rng.usize(..names::COUNTRIES.len())]
            };
            address(rng, country, names::ADDRESS_LABELS[k])
        })
        .collect();
    CustomerPlan {
        name: format!("{given} {family}"),
        email: format!("{local}.{n}@{}", pick(rng, names::MAIL_DOMAINS)),
        addresses,
    }
}

fn address(rng: &mut Rng, country: &Country, label: &'static str) -> AddressPlan {
    let number = rng.u32(1..200);
    let street = pick(rng, names::STREETS);
    let postal_code = country
        .postal_code
        .chars()
        .map(|c| match c {
            '9' => char::from(b'0' + rng.u8(0..10)),
            'A' => char::from(b'A' + rng.u8(0..26)),
            c => c,
        })
        .collect();
    AddressPlan {
        label,
        line1: format!("{street} {number}"),
        city: pick(rng, country.cities),
        postal_code,
        country: country.code,
    }
}

fn product(rng: &mut Rng, n: usize) -> ProductPlan {
    let (kind, stem, low, high) = pick(rng, names::PRODUCT_KINDS);
    let material = pick(rng, names::MATERIALS);
    let colour = pick(rng, names::COLOURS);
    // Prices end in 0 or 5 cents, like a shop's.
    let price = rng.i64(low..=high) / 5 * 5;
    ProductPlan {
        sku: format!("{stem}-{:05}", n + 1),
        name: format!("{material} {kind}, {colour}"),
        price,
        stock: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(seed: u64) -> Sizes {
        Sizes {
            customers: 50,
            products: 30,
            orders: 2_000,
            seed,
        }
    }

    #[test]
    fn the_same_seed_plans_the_same_data_and_another_seed_other_data() {
        assert_eq!(Plan::new(sizes(7)), Plan::new(sizes(7)));
        assert_ne!(Plan::new(sizes(7)), Plan::new(sizes(8)));
    }

    #[test]
    fn every_end_is_planned_and_stock_covers_every_order_that_is_not_rejected() {
        let plan = Plan::new(sizes(1));
        for (end, _) in End::SHARES {
            assert!(plan.orders.iter().any(|o| o.end == end), "{end:?}");
        }
        for (n, product) in plan.products.iter().enumerate() {
            let demand: u32 = plan
                .orders
                .iter()
                .flat_map(|o| &o.lines)
                .filter(|(p, _)| *p == n)
                .map(|(_, q)| q)
                .sum();
            let rejected_only = plan
                .orders
                .iter()
                .filter(|o| o.lines.iter().any(|(p, _)| *p == n))
                .all(|o| o.end == End::Rejected);
            if product.stock == 0 {
                assert!(rejected_only, "{} is sold out but ordered", product.sku);
            } else {
                assert!(product.stock >= demand, "{}", product.sku);
            }
        }
        for order in &plan.orders {
            let skus: std::collections::HashSet<_> = order.lines.iter().map(|l| l.0).collect();
            assert_eq!(skus.len(), order.lines.len(), "a product twice in an order");
            let sold_out = order
                .lines
                .iter()
                .any(|(p, _)| plan.products[*p].stock == 0);
            assert_eq!(sold_out, order.end == End::Rejected);
        }
    }

    #[test]
    fn every_value_passes_the_domains_validation() {
        let plan = Plan::new(sizes(3));
        let emails: std::collections::HashSet<_> =
            plan.customers.iter().map(|c| c.email.as_str()).collect();
        assert_eq!(emails.len(), plan.customers.len());
        for customer in &plan.customers {
            domain::values::Email::parse(&customer.email).expect("email");
            for address in &customer.addresses {
                domain::values::Country::parse(address.country).expect("country");
                domain::values::PostalCode::parse(&address.postal_code).expect("postal code");
            }
        }
        for product in &plan.products {
            domain::values::Sku::parse(&product.sku).expect("sku");
        }
    }

    #[test]
    fn one_product_means_no_rejections_and_no_customers_no_orders() {
        let one = Plan::new(Sizes {
            products: 1,
            ..sizes(2)
        });
        assert!(one.orders.iter().all(|o| o.end != End::Rejected));
        let none = Plan::new(Sizes {
            customers: 0,
            ..sizes(2)
        });
        assert!(none.orders.is_empty());
    }
}
