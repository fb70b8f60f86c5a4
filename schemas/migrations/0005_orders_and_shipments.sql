-- The order and shipment read models (docs/adr/0007-projections.md).

-- orders: the enriched order view: customer name and email (kept current), the shipping
-- address and lines captured at placement, payment, and the shipment's progress.
CREATE TABLE orders
(
    id                       uuid PRIMARY KEY,
    status                   text        NOT NULL,
    customer_id              uuid        NOT NULL,
    customer_name            text        NOT NULL,
    customer_email           text        NOT NULL,
    shipping_address_id      uuid        NOT NULL,
    shipping_label           text,
    shipping_line1           text        NOT NULL,
    shipping_line2           text,
    shipping_city            text        NOT NULL,
    shipping_postal_code     text        NOT NULL,
    shipping_country         text        NOT NULL,
    item_count               integer     NOT NULL,
    total_minor              bigint      NOT NULL,
    currency                 text        NOT NULL,
    payment_amount_minor     bigint,
    payment_currency         text,
    payment_method           text,
    payment_reference        text,
    paid_at                  timestamptz,
    shipment_id              uuid,
    shipment_status          text,
    shipment_carrier         text,
    shipment_tracking_number text,
    placed_at                timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    version                  bigint      NOT NULL
);
-- orders(filter, first, after) sorts by placedAt desc, id desc; filters by status, customer.
CREATE INDEX orders_placed ON orders (placed_at DESC, id DESC);
CREATE INDEX orders_customer ON orders (customer_id, placed_at DESC, id DESC);
CREATE INDEX orders_status ON orders (status, placed_at DESC, id DESC);
CREATE INDEX orders_shipment ON orders (shipment_id);

CREATE TABLE order_lines
(
    order_id         uuid    NOT NULL,
    line_no          integer NOT NULL,
    sku              text    NOT NULL,
    product_name     text    NOT NULL,
    quantity         integer NOT NULL,
    unit_price_minor bigint  NOT NULL,
    currency         text    NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE order_history
(
    order_id uuid        NOT NULL,
    -- The order event's sequence: history in the order it happened.
    sequence bigint      NOT NULL,
    status   text        NOT NULL,
    at       timestamptz NOT NULL,
    reason   text,
    PRIMARY KEY (order_id, sequence)
);

-- The orders projection's own record of customer names and emails, for enrichment: it
-- never reads another projection's tables or the aggregates, so a replay equals the live run.
CREATE TABLE order_customers
(
    id    uuid PRIMARY KEY,
    name  text NOT NULL,
    email text NOT NULL
);

CREATE TABLE shipments
(
    id                  uuid PRIMARY KEY,
    order_id            uuid        NOT NULL,
    status              text        NOT NULL,
    address_id          uuid        NOT NULL,
    address_label       text,
    address_line1       text        NOT NULL,
    address_line2       text,
    address_city        text        NOT NULL,
    address_postal_code text        NOT NULL,
    address_country     text        NOT NULL,
    carrier             text,
    tracking_number     text,
    created_at          timestamptz NOT NULL,
    dispatched_at       timestamptz,
    delivered_at        timestamptz,
    cancelled_at        timestamptz,
    version             bigint      NOT NULL
);
CREATE INDEX shipments_order ON shipments (order_id);
