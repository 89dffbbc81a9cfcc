"""SQLite outbox source (unit, a real SQLite file): database errors leave as OutboxError, no transaction left open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.outbox import OutboxError, SqliteOutbox, ddl
from bus.errors import EgovBusError


@pytest.fixture
def outbox(tmp_path: Path) -> SqliteOutbox:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(ddl("sqlite"))
        conn.executemany(
            "INSERT INTO egov_outbox (event_type, region_code, payload) VALUES ('ComplaintReceived', '32.01', ?)",
            [('{"n": %d}' % i,) for i in range(3)],
        )
        # A database that refuses one update midway, as a constraint or a full disk would.
        conn.execute(
            "CREATE TRIGGER refuse_two BEFORE UPDATE OF sent_at ON egov_outbox WHEN NEW.id = 2 "
            "BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
        )
    source = SqliteOutbox(path)
    yield source
    source.close()


def test_a_failed_mark_sent_is_an_outbox_error_and_rolls_the_batch_back(outbox: SqliteOutbox) -> None:
    with pytest.raises(OutboxError, match="marking egov_outbox rows sent failed: refused by the database") as caught:
        outbox.mark_sent([1, 2, 3])
    assert isinstance(caught.value, EgovBusError)
    assert caught.value.fields == {"operation": "marking egov_outbox rows sent"}
    assert not outbox._conn.in_transaction
    # All or nothing: row 1 is not marked sent either, so the relay sends the batch again.
    assert outbox.pending() == 3
    outbox.mark_sent([1, 3])
    assert [row.id for row in outbox.fetch(10)] == [2]


def test_reading_a_missing_table_is_an_outbox_error(outbox: SqliteOutbox) -> None:
    outbox._conn.execute("DROP TABLE egov_outbox")
    with pytest.raises(OutboxError, match="reading egov_outbox failed: no such table"):
        outbox.fetch(10)
    with pytest.raises(OutboxError, match="counting pending egov_outbox rows failed"):
        outbox.pending()
    with pytest.raises(OutboxError, match="recording a failed attempt in egov_outbox failed"):
        outbox.record_failure([1], "broker away")
    assert not outbox._conn.in_transaction
