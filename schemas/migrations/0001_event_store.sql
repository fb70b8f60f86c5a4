-- The event store in the table layout of postgres-es 0.5, so that cqrs-es tooling and
-- anyone who knows postgres-es can read it. One deliberate change: payload and metadata
-- are jsonb (not json) so that projections and ad-hoc queries can index and query them.

CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    -- cqrs-es numbers an aggregate's events from 1.
    sequence       bigint CHECK (sequence >= 1) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        jsonb                        NOT NULL,
    metadata       jsonb                        NOT NULL,
    -- The primary key is the optimistic lock: two writers that decided on the same
    -- aggregate version collide here and one of them fails with a unique violation.
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

-- Only used by aggregates that opt into snapshots.
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          jsonb                                NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);
