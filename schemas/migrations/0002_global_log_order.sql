-- A global, gapless read order across all aggregates (docs/adr/0002-gapless-log-reading.md).
--
-- `position` numbers events in insertion order, but positions are taken before commit, so
-- a reader that follows `position > last` skips an event whose transaction commits after a
-- later-positioned one. Each event therefore also stores the id of the transaction that
-- wrote it. Readers only return events whose transaction id is below the oldest
-- transaction still running (pg_snapshot_xmin of the current snapshot), ordered by
-- (transaction_id, position): every transaction below that horizon has finished, so
-- nothing can appear behind a reader's checkpoint any more.
--
-- The transaction id is stored as bigint: xid8 is a 64-bit, epoch-extended id that never
-- wraps, and a bigint is simpler to bind and compare from clients. pg_current_xact_id()
-- assigns the transaction's id at its first write; the append path makes the event insert
-- the transaction's first write (see event-store/src/append.rs).

ALTER TABLE events
    ADD COLUMN position       bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN transaction_id bigint      NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    -- Also in metadata.recorded_at; a column so views and `oms events tail` need not parse it.
    ADD COLUMN recorded_at    timestamptz NOT NULL DEFAULT now();

ALTER TABLE events ADD CONSTRAINT events_position_key UNIQUE (position);

-- The reader's scan: WHERE (transaction_id, position) > checkpoint ORDER BY both.
CREATE INDEX events_log_order ON events (transaction_id, position);

