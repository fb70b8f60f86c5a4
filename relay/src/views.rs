//! The enriched order views on `oms.orders.<order id>`, from the outbox the `orders`
//! projection keeps while a relay is registered (`projections::order_views`).

use projections::order_views::ViewChange;
use uuid::Uuid;

use crate::cloudevent::Message;

/// Where every view's subject starts: `oms.orders.<order id>`.
pub const VIEWS_PREFIX: &str = "oms.orders";

/// Changes published per round (a batch may run several).
pub const PER_ROUND: i64 = 1_000;

/// A recorded change as its message: the view as JSON, its id stable per change.
pub fn message(change: &ViewChange) -> Message {
    Message {
        subject: format!("{VIEWS_PREFIX}.{}", change.order_id),
        id: Uuid::new_v5(
            &domain::values::OMS_NAMESPACE,
            format!("order-view/{}/{}", change.order_id, change.seq).as_bytes(),
        ),
        body: change.view.clone().into(),
    }
}
