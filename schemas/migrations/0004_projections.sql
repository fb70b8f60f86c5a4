-- Projections: checkpoints and the relational read models (docs/adr/0007-projections.md).
-- Only projectors write these tables, each in the transaction that advances its checkpoint.

CREATE TABLE projection_checkpoints
(
    name           text PRIMARY KEY,
    -- Where the projection stands in the log (event_store::LogPosition).
    transaction_id bigint      NOT NULL DEFAULT 0,
    position       bigint      NOT NULL DEFAULT 0,
    -- RUNNING, REBUILDING, STOPPED or FAILED.
    state          text        NOT NULL DEFAULT 'STOPPED',
    last_error     text,
    -- While `oms projections rebuild` builds a new generation: how far it has come.
    rebuild_position bigint,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- products: the catalog with stock.
CREATE TABLE products
(
    sku         text PRIMARY KEY,
    name        text   NOT NULL,
    price_minor bigint NOT NULL,
    currency    text   NOT NULL,
    on_hand     bigint NOT NULL,
    reserved    bigint NOT NULL,
    version     bigint NOT NULL
);

-- customers: with their addresses and how many orders they placed.
CREATE TABLE customers
(
    id            uuid PRIMARY KEY,
    name          text        NOT NULL,
    email         text        NOT NULL,
    registered_at timestamptz NOT NULL,
    order_count   integer     NOT NULL,
    version       bigint      NOT NULL
);
-- customers(first, after) sorts by registeredAt desc; emailContains filters.
CREATE INDEX customers_registered ON customers (registered_at DESC, id DESC);
CREATE INDEX customers_email_lower ON customers (lower(email) text_pattern_ops);

CREATE TABLE customer_addresses
(
    customer_id uuid    NOT NULL,
    address_id  uuid    NOT NULL,
    ordinal     integer NOT NULL,
    label       text,
    line1       text    NOT NULL,
    line2       text,
    city        text    NOT NULL,
    postal_code text    NOT NULL,
    country     text    NOT NULL,
    PRIMARY KEY (customer_id, address_id)
);
