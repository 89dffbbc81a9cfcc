-- egov_outbox for SQLite (3.24 or newer).
--
-- Same contract as postgresql.sql: the application inserts one row per event
-- in the transaction of its business change; `egov-bus outbox-relay --dsn
-- sqlite:///path/to/app.db` publishes unsent rows in id order and sets sent_at
-- after the broker's acknowledgement. Times are ISO 8601 UTC text, payload is
-- JSON text. event_id defaults to a random UUID (version 4).

CREATE TABLE IF NOT EXISTS egov_outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       TEXT    NOT NULL UNIQUE DEFAULT (lower(
                       hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
                       substr(hex(randomblob(2)), 2) || '-' ||
                       substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' ||
                       hex(randomblob(6)))),
    event_type     TEXT    NOT NULL,
    region_code    TEXT    NOT NULL,
    source_system  TEXT    NOT NULL DEFAULT 'outbox',
    occurred_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    payload        TEXT    NOT NULL CHECK (json_valid(payload)),
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sent_at        TEXT,
    rejected_at    TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT
);

CREATE INDEX IF NOT EXISTS egov_outbox_pending ON egov_outbox (id) WHERE sent_at IS NULL AND rejected_at IS NULL;
