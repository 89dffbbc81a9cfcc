"""The spool on a disk that runs full: a real small tmpfs filled by a ballast file (needs root, no services)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.spool import Spool, SpoolError, SpoolFullError, SpoolRecord
from tests.reliability.small_fs import Ballast, small_filesystem

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

MIB = 1 << 20


def record(seq: int) -> SpoolRecord:
    return SpoolRecord(seq, "egov.budgeting.events", b"32.01", b"\x00" + bytes(900) + b"%d" % seq,
                       [("ce_id", f"id-{seq}".encode())], "budgeting", 1000.0)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path / "disk", 8) as directory:
        yield directory


def test_new_events_are_refused_below_the_free_space_kept_and_taken_again_above_it(disk: Path) -> None:
    ballast = Ballast(disk)
    with Spool(disk / "s.sqlite", 1000, min_free_bytes=2 * MIB) as spool:
        spool.put([record(1)])
        ballast.fill(leave=MIB)
        with pytest.raises(SpoolFullError, match=r"its disk has 1 MiB free, less than the 2 MiB kept free") as info:
            spool.put([record(2)])
        assert info.value.fields["depth"] == 1 and info.value.fields["free_bytes"] == MIB
        spool.put([record(3)], force=True)  # taken back after a failed send: already accepted, always kept
        ballast.free()
        spool.put([record(2)])
        assert [r.seq for r in spool.peek(10)] == [1, 2, 3]


def test_a_full_disk_makes_a_write_a_spool_error_and_stores_nothing(disk: Path) -> None:
    ballast = Ballast(disk)
    with Spool(disk / "s.sqlite", 1000) as spool:
        spool.put([record(1)])
        assert ballast.fill() == 0
        with pytest.raises(SpoolError, match="database or disk is full"):
            spool.put([record(i) for i in range(2, 40)])
        assert spool.depth == 1
        ballast.free()
        spool.put([record(2)])
        assert spool.depth == 2


def test_sent_records_that_cannot_be_deleted_on_a_full_disk_are_not_handed_out_again(disk: Path) -> None:
    ballast = Ballast(disk)
    with Spool(disk / "s.sqlite", 1000) as spool:
        spool.put([record(i) for i in range(1, 201)])
        assert ballast.fill() == 0
        spool.delete(range(1, 101))  # acknowledged by the broker; the delete cannot be written now
        assert spool.depth == 200  # still on disk, still counted: the publisher keeps draining
        assert [r.seq for r in spool.peek(3)] == [101, 102, 103]
        spool.delete([101])
        assert spool.peek(1)[0].seq == 102
        ballast.free()
        assert [r.seq for r in spool.peek(2)] == [102, 103]  # the kept deletes went through first
        assert spool.depth == 99
    with Spool(disk / "s.sqlite", 1000) as reopened:
        assert reopened.depth == 99 and reopened.peek(1)[0].seq == 102
