-- The enriched order views as they change, while a relay is registered: written by the
-- live `orders` batches in their own transactions, published and removed by the relay
-- (projections::order_views). `json`, not `jsonb`: the view keeps GraphQL's field order.
CREATE TABLE order_view_changes
(
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id uuid NOT NULL,
    view     json NOT NULL
);

-- The orders read model keeps its shipment's times, so that an order's view is whole
-- within the `orders` projection's own transaction (its address is the order's shipping
-- address, copied at creation).
ALTER TABLE orders
    ADD COLUMN shipment_created_at    timestamptz,
    ADD COLUMN shipment_dispatched_at timestamptz,
    ADD COLUMN shipment_delivered_at  timestamptz;
UPDATE orders o
SET shipment_created_at    = s.created_at,
    shipment_dispatched_at = s.dispatched_at,
    shipment_delivered_at  = s.delivered_at
FROM shipments s
WHERE s.id = o.shipment_id;
