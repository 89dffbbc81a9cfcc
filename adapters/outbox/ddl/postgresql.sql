-- egov_outbox for PostgreSQL (13 or newer: gen_random_uuid() is built in).
--
-- The regional application inserts one row per domain event IN THE SAME
-- TRANSACTION as the business change it describes, so an event exists if and
-- only if the change was committed. `egov-bus outbox-relay --dsn postgresql://...`
-- publishes unsent rows in id order and sets sent_at only after the broker
-- acknowledged the event. A relay restart re-sends at most the rows it had not
-- marked yet, with the same event_id, so consumers drop the duplicates.
--
-- Example insert (inside the application's transaction):
--   INSERT INTO egov_outbox (event_type, region_code, source_system, occurred_at, payload)
--   VALUES ('BudgetAllocated', '32.01', 'simda', now(),
--           '{"allocation_id": "A-1", "fiscal_year": 2025, "program_code": "1.01.01",
--             "activity_code": "1.01.01.2.01", "amount": "1500000.00"}');
-- A person's NIK goes in payload as "nik"; the relay pseudonymizes it before
-- anything leaves the database host.

CREATE TABLE IF NOT EXISTS egov_outbox (
    id             BIGSERIAL   PRIMARY KEY,                 -- publish order
    event_id       UUID        NOT NULL UNIQUE DEFAULT gen_random_uuid(),  -- idempotency key on the bus
    event_type     TEXT        NOT NULL,                    -- bare event name, e.g. 'BudgetAllocated'
    region_code    TEXT        NOT NULL,                    -- Kemendagri code of the publisher, e.g. '32.01'
    source_system  TEXT        NOT NULL DEFAULT 'outbox',   -- the application's name
    occurred_at    TIMESTAMPTZ NOT NULL DEFAULT now(),      -- when the business fact happened
    payload        JSONB       NOT NULL,                    -- the event's own fields
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at        TIMESTAMPTZ,                             -- set by the relay after the broker's ack
    rejected_at    TIMESTAMPTZ,                             -- set by the relay when the row is not a valid event
    attempts       INTEGER     NOT NULL DEFAULT 0,          -- publish attempts that failed
    last_error     TEXT                                     -- why the last attempt failed or the row was rejected
);

-- The relay's only query path: unsent, not rejected, in id order.
CREATE INDEX IF NOT EXISTS egov_outbox_pending ON egov_outbox (id) WHERE sent_at IS NULL AND rejected_at IS NULL;
