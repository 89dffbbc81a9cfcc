"""Unit tests for the SQLite spool."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from adapters.spool import Spool, SpoolFullError, SpoolLockedError, SpoolRecord


def record(seq: int, region: str = "32.01", accepted_at: float = 1000.0) -> SpoolRecord:
    headers = [("ce_id", f"id-{seq}".encode()), ("bin", bytes(range(256))), ("empty", b"")]
    return SpoolRecord(seq, "egov.budgeting.events", region.encode(), b"\x00value-%d" % seq, headers, "budgeting",
                       accepted_at)


def test_records_come_back_in_sequence_order_with_their_bytes(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite", 100) as spool:
        spool.put([record(5), record(2)])
        spool.put([record(9)])
        got = spool.peek(10)
        assert [r.seq for r in got] == [2, 5, 9]
        assert got[0] == record(2)
        assert spool.depth == 3 and spool.max_seq == 9


def test_a_record_put_twice_is_kept_once(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite", 100) as spool:
        spool.put([record(1)])
        spool.put([record(1), record(2)], force=True)
        assert spool.depth == 2


def test_delete_and_depth(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite", 100) as spool:
        spool.put([record(i) for i in range(10)])
        spool.delete([0, 1, 2, 99])
        assert spool.depth == 7
        assert [r.seq for r in spool.peek(2)] == [3, 4]


def test_limit_refuses_new_records_with_a_clear_error(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite", 3) as spool:
        spool.put([record(1), record(2)])
        with pytest.raises(SpoolFullError, match="limit is 3") as info:
            spool.put([record(3), record(4)])
        assert info.value.fields["depth"] == 2 and info.value.fields["limit"] == 3
        assert spool.depth == 2  # all or nothing
        spool.put([record(3), record(4)], force=True)  # records coming back from a failed send
        assert spool.depth == 4


def test_survives_reopen_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Spool(path, 100) as spool:
        spool.put([record(1), record(7)])
    with Spool(path, 100) as spool:
        assert spool.depth == 2 and spool.max_seq == 7
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_one_process_per_spool_file(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite", 100):
        with pytest.raises(SpoolLockedError):
            Spool(tmp_path / "s.sqlite", 100)
    Spool(tmp_path / "s.sqlite", 100).close()  # released on close


def test_gauges(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite", 50) as spool:
        spool.put([record(1, accepted_at=1.0), record(2, accepted_at=2.0)])
        assert REGISTRY.get_sample_value("egov_spool_depth_events") >= 2
        assert REGISTRY.get_sample_value("egov_spool_oldest_age_seconds") > 1e9  # accepted at t=1s
        assert REGISTRY.get_sample_value("egov_spool_limit_events") >= 50
