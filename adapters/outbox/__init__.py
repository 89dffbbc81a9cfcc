"""The transactional outbox relay: ``egov_outbox`` rows in, acknowledged events out."""

from adapters.outbox.exceptions import OutboxDsnError, OutboxError, OutboxLockedError
from adapters.outbox.relay import OutboxRelay, RelayStats
from adapters.outbox.sources import OutboxRow, OutboxSource, PostgresOutbox, SqliteOutbox, ddl, open_outbox

__all__ = [
    "OutboxRelay",
    "RelayStats",
    "OutboxRow",
    "OutboxSource",
    "PostgresOutbox",
    "SqliteOutbox",
    "ddl",
    "open_outbox",
    "OutboxError",
    "OutboxDsnError",
    "OutboxLockedError",
]
