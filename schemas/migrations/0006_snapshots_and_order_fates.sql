-- Aggregate snapshots and the cancel-or-dispatch claim (docs/adr/0010-fulfilment-at-scale.md).

-- The latest snapshot of an aggregate's state, so that loading it reads the snapshot and
-- the events after it, never its whole history. Written in the transaction that appends
-- the event it was taken after, so it can never run ahead of the log. `schema_version` is
-- the aggregate's snapshot version (domain::events::SNAPSHOTS): a snapshot of another
-- version is ignored and the aggregate is folded from its events, then snapshotted anew.
-- (`snapshots` of 0001 stays the cqrs-es repository's own table.)
CREATE TABLE aggregate_snapshots
(
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    schema_version int    NOT NULL,
    -- The sequence and log position of the last event folded into `state`.
    sequence       bigint NOT NULL CHECK (sequence >= 1),
    position       bigint NOT NULL,
    state          jsonb  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Who won the race between cancelling an order and dispatching its shipment: whichever
-- commits its claim first; the other finds the row and is refused (409). Keyed by the
-- shipment id, which is derived from the order id (ShipmentId::for_order), so both
-- commands can name it without loading the other aggregate. Written only in the
-- transaction of the command's events.
CREATE TABLE order_fates
(
    shipment_id uuid PRIMARY KEY,
    fate        text NOT NULL CHECK (fate IN ('CANCELLED', 'DISPATCHED'))
);

-- Shipments already on their way when this table came: their orders can no longer be
-- cancelled. (A cancelled order's shipment is cancelled by order fulfilment.)
INSERT INTO order_fates (shipment_id, fate)
SELECT DISTINCT aggregate_id::uuid, 'DISPATCHED'
FROM events
WHERE aggregate_type = 'Shipment' AND event_type = 'ShipmentDispatched'
ON CONFLICT (shipment_id) DO NOTHING;
