"""The fault suite's small filesystem and its ballast, on a real tmpfs (needs root, no services)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.reliability.small_fs import Ballast, SmallFsError, free_bytes, small_filesystem

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

PAGE = os.sysconf("SC_PAGE_SIZE")


def test_a_full_filesystem_refuses_a_write_and_takes_it_again_once_the_ballast_is_freed(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "disk", 4) as disk:
        assert free_bytes(disk) == 4 << 20
        ballast = Ballast(disk)
        assert ballast.fill() == 0 and ballast.size == 4 << 20
        with pytest.raises(OSError) as refused, open(disk / "event", "wb") as file:
            file.write(b"x")
            file.flush()
        assert refused.value.errno == errno.ENOSPC
        assert ballast.free() == 4 << 20 and ballast.size == 0
        (disk / "event").write_bytes(b"x")
    assert not os.path.ismount(tmp_path / "disk")


def test_fill_leaves_what_it_is_asked_to_leave(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "disk", 4) as disk:
        (disk / "spool").write_bytes(bytes(PAGE * 3))
        ballast = Ballast(disk)
        assert ballast.fill(leave=64 * PAGE) == 64 * PAGE
        assert ballast.size == (4 << 20) - 67 * PAGE
        assert ballast.fill() == 0  # filling again grows the same file to full


def test_unmounted_also_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), small_filesystem(tmp_path / "disk", 1):
        raise RuntimeError("the test failed")
    assert not os.path.ismount(tmp_path / "disk")


def test_an_impossible_mount_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(SmallFsError, match="could not mount a 1 MiB tmpfs on"):
        with small_filesystem(tmp_path / "file", 1):
            pass
