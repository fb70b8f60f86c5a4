-- Write-side records the command API keeps in the same transaction as a command's events,
-- so they can never disagree with the log (docs/adr/0006-command-api.md).

-- Who holds each email (lower-cased): makes "email unique" hold under concurrency. A
-- registration's claim commits or rolls back with its CustomerRegistered event, so a
-- failed registration never leaves the email claimed.
CREATE TABLE customer_emails
(
    email       text PRIMARY KEY,
    customer_id uuid NOT NULL
);
CREATE INDEX customer_emails_customer ON customer_emails (customer_id);

-- Responses of commands sent with an Idempotency-Key. Recorded in the transaction that
-- appends the command's events: a crash between the two cannot happen, so a retry can
-- never append twice. Kept at least 24 hours (rows older than 48 hours are purged).
CREATE TABLE idempotency_keys
(
    key        text PRIMARY KEY,
    -- {"method", "path", "body"}: a repeat must match exactly to be replayed.
    request    jsonb       NOT NULL,
    status     smallint    NOT NULL,
    body       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
