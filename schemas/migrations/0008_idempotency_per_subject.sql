-- Idempotency keys are scoped to the caller: the same key from two token subjects is two
-- keys (with authentication off every request has the subject `anonymous`).
ALTER TABLE idempotency_keys ADD COLUMN subject text NOT NULL DEFAULT 'anonymous';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (subject, key);
ALTER TABLE idempotency_keys ALTER COLUMN subject DROP DEFAULT;
