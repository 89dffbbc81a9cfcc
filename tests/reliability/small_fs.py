"""A small filesystem a fault test can fill to the last byte: a region's disk running full.

:func:`small_filesystem` mounts a tmpfs of ``size_mb`` on a directory (the tests run as root; a
tmpfs has no blocks reserved for root, so "full" means full for the gateway too) and unmounts it
at the end, also on failure. :class:`Ballast` is one file on it that takes all the free space but
``leave`` bytes (:meth:`Ballast.fill`), and gives it back (:meth:`Ballast.free`).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bus.errors import EgovBusError

_ZEROS = bytes(1 << 20)


class SmallFsError(EgovBusError):
    """The small filesystem could not be mounted, filled or unmounted."""


def free_bytes(path: Path | str) -> int:
    """Bytes an unprivileged writer may still use on ``path``'s filesystem."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise SmallFsError(f"could not {what}: {reason[-1] if reason else f'exit {done.returncode}'}")


def mount_tmpfs(directory: Path, size_mb: int) -> None:
    """Mount a tmpfs of ``size_mb`` MiB on ``directory`` (created if missing; needs root)."""
    if os.geteuid() != 0:
        raise SmallFsError(f"mounting a {size_mb} MiB filesystem on {directory} needs root")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SmallFsError(f"could not mount a {size_mb} MiB tmpfs on {directory}: {exc.strerror}") from None
    _run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(directory)],
         f"mount a {size_mb} MiB tmpfs on {directory}")


def unmount(directory: Path) -> None:
    """Unmount ``directory``; lazily if a process still holds a file there (it is gone at its exit)."""
    done = subprocess.run(["umount", str(directory)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        _run(["umount", "-l", str(directory)], f"unmount {directory}")


@contextmanager
def small_filesystem(directory: Path, size_mb: int) -> Iterator[Path]:
    """``directory`` as a ``size_mb`` MiB filesystem of its own until the block ends."""
    mount_tmpfs(directory, size_mb)
    try:
        yield directory
    finally:
        unmount(directory)


class Ballast:
    """One file on a small filesystem that takes its free space, so the others' writes fail (ENOSPC)."""

    def __init__(self, directory: Path, name: str = "ballast") -> None:
        self.path = directory / name

    @property
    def size(self) -> int:
        """Bytes the ballast holds now (0 when freed)."""
        return self.path.stat().st_size if self.path.exists() else 0

    def fill(self, leave: int = 0) -> int:
        """Grow the ballast until at most ``leave`` bytes are free (0: the filesystem is full); returns
        the bytes free after it. A filesystem page is the unit, so ``leave`` is met to within one page."""
        directory = self.path.parent
        target = free_bytes(directory) - leave
        if target > 0:
            with open(self.path, "ab") as file:
                try:
                    # Allocates at once and exactly; tmpfs and ext4 support it.
                    os.posix_fallocate(file.fileno(), file.seek(0, os.SEEK_END), target)
                except OSError as exc:
                    if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                        raise SmallFsError(f"could not fill {directory}: {exc.strerror}") from None
                    self._write_zeros(file, target)
        return free_bytes(directory)

    @staticmethod
    def _write_zeros(file, count: int) -> None:
        # Without fallocate: zeros until ``count`` bytes or the disk is full, whichever comes first.
        left = count
        while left > 0:
            try:
                left -= file.write(_ZEROS[: min(left, len(_ZEROS))])
                file.flush()
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise SmallFsError(f"could not fill {file.name}: {exc.strerror}") from None
                return

    def free(self) -> int:
        """Remove the ballast; returns the bytes free after it."""
        self.path.unlink(missing_ok=True)
        return free_bytes(self.path.parent)
