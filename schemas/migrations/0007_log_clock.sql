-- Transaction ids that survive a move to another cluster (README, "Moving the database").
--
-- The log orders events by the id of the transaction that wrote them (0002), and readers
-- stop at the oldest transaction still running. Transaction ids are local to a cluster:
-- restored into a fresh cluster (pg_dump and restore, or any move to a server whose
-- counter is lower), new transactions would get ids below every event already in the log,
-- sort before every checkpoint and be skipped, while the old events would sit above the
-- horizon until the new counter passed them. So the log counts in the cluster's ids plus
-- an offset kept here, and `oms` raises the offset whenever it starts on a cluster whose
-- counter is behind the log (event_store::clock): new transactions always sort after
-- everything already in the log.

CREATE TABLE log_clock
(
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    xact_offset bigint  NOT NULL CHECK (xact_offset >= 0)
);
INSERT INTO log_clock (xact_offset) VALUES (0);

-- The current transaction's id in the log's count (assigning it an id if it has none), for
-- writers other than `oms`; `oms` reads the offset once and adds it itself, in appends and
-- in the reader's horizon (event_store::append, event_store::read).
CREATE FUNCTION oms_log_xact_id() RETURNS bigint
    LANGUAGE sql VOLATILE
    AS $$ SELECT pg_current_xact_id()::text::bigint + xact_offset FROM log_clock $$;

ALTER TABLE events ALTER COLUMN transaction_id SET DEFAULT oms_log_xact_id();
