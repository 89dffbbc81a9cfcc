"""A durable FIFO of encoded Kafka records in SQLite (WAL mode).

Records keep the sequence number the publisher gave them when it accepted
the event, so a record that failed in flight is put back in its place and
per-region order survives an outage. One process owns a spool file at a
time (an advisory lock next to it), because two drainers of one file would
interleave regions.

A full disk: new events are refused (:class:`SpoolFullError`) while less than
``min_free_bytes`` is free on the spool's filesystem, so that the spool never
fills its disk itself and can always delete what it has sent (in WAL mode a
delete needs room too). If the disk fills anyway (another process), a record
the broker acknowledged but that cannot be deleted yet is never handed out
again by :meth:`Spool.peek` (no duplicate in the topic); its delete is retried
until it succeeds.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from adapters.metrics import SPOOLS
from adapters.spool.exceptions import SpoolError, SpoolFullError, SpoolLockedError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    seq          INTEGER PRIMARY KEY,  -- acceptance order, kept across retries
    topic        TEXT    NOT NULL,
    key          BLOB,
    value        BLOB    NOT NULL,
    headers      BLOB    NOT NULL,     -- see _pack_headers
    theme        TEXT    NOT NULL,
    accepted_at  REAL    NOT NULL      -- unix time the event was accepted
)
"""

Headers = list[tuple[str, bytes]]

log = logging.getLogger("egov.adapters.spool")


class SpoolRecord(NamedTuple):
    """One encoded record waiting for the broker."""

    seq: int
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    theme: str
    accepted_at: float


def _pack_headers(headers: Sequence[tuple[str, bytes | str | None]]) -> bytes:
    # name \x00 value \x00 ...: header names never contain NUL, values are
    # length-prefixed so that any byte string round-trips.
    out = bytearray()
    for name, value in headers:
        raw = value.encode() if isinstance(value, str) else (value or b"")
        out += name.encode() + b"\x00" + len(raw).to_bytes(4, "big") + raw
    return bytes(out)


def _unpack_headers(blob: bytes) -> Headers:
    headers: Headers = []
    pos = 0
    while pos < len(blob):
        end = blob.index(b"\x00", pos)
        name = blob[pos:end].decode()
        size = int.from_bytes(blob[end + 1 : end + 5], "big")
        start = end + 5
        headers.append((name, bytes(blob[start : start + size])))
        pos = start + size
    return headers


class Spool:
    """The store half of store-and-forward (the publisher drains it).

    ``max_events`` bounds what :meth:`put` accepts from new publishes, and so
    does ``min_free_bytes`` (the free space kept on the spool's filesystem);
    records coming back from a failed send are always taken (``force``),
    because they were already accepted and must not be lost.
    """

    def __init__(self, path: Path | str, max_events: int, *, synchronous: str = "FULL",
                 min_free_bytes: int = 0) -> None:
        if max_events <= 0:
            raise SpoolError(f"spool limit must be positive, got {max_events}", max_events=max_events)
        self.path = Path(path)
        self.max_events = max_events
        self.min_free_bytes = min_free_bytes
        # Sent (acknowledged or settled) but not deleted yet, because the disk was full: never
        # handed out again, and counted in depth until the delete succeeds.
        self._undeleted: set[int] = set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path.with_name(self.path.name + ".lock"), "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise SpoolLockedError(
                f"spool {self.path} is in use by another process; give each publisher its own spool",
                path=str(self.path),
            ) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()
        self._mutex = threading.Lock()
        # One connection shared under a mutex: SQLite serialises writers anyway.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a record reported as spooled survives a power cut, not only a crash.
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute(_SCHEMA)
        row = self._db.execute("SELECT COUNT(*), MAX(seq) FROM spool").fetchone()
        self._depth: int = row[0]
        self._max_seq: int = row[1] or 0
        self._oldest: float | None = None
        self._refresh_oldest()
        self.closed = False
        SPOOLS.track(self)

    # -- state ------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Records waiting."""
        return self._depth

    @property
    def max_seq(self) -> int:
        """Highest sequence number ever stored in this file (0 if none)."""
        return self._max_seq

    def oldest_age_s(self) -> float:
        """Seconds since the oldest waiting record was accepted; 0 when empty."""
        oldest = self._oldest
        return max(0.0, time.time() - oldest) if oldest is not None else 0.0

    def __len__(self) -> int:
        return self._depth

    # -- operations -----------------------------------------------------------------

    def put(self, records: Iterable[SpoolRecord], *, force: bool = False) -> int:
        """Store records durably (one transaction); returns how many.

        Raises :class:`SpoolFullError` (storing none of them) when they would
        take the spool past its limit, unless ``force``.
        """
        rows = [
            (r.seq, r.topic, r.key, r.value, _pack_headers(r.headers), r.theme, r.accepted_at) for r in records
        ]
        if not rows:
            return 0
        with self._mutex:
            self._check_open()
            if not force and self._depth + len(rows) > self.max_events:
                raise SpoolFullError(
                    f"spool {self.path} is full: it holds {self._depth} events and its limit is "
                    f"{self.max_events} (EGOV_SPOOL_MAX_EVENTS); the broker has been unreachable for "
                    f"{self.oldest_age_s():.0f}s. Restore the link to the broker or raise the limit.",
                    depth=self._depth,
                    limit=self.max_events,
                    path=str(self.path),
                )
            if not force and self.min_free_bytes:
                free = self.free_bytes()
                if free < self.min_free_bytes:
                    raise SpoolFullError(
                        f"spool {self.path} is full: its disk has {free >> 20} MiB free, less than the "
                        f"{self.min_free_bytes >> 20} MiB kept free to send what it holds "
                        f"(EGOV_SPOOL_MIN_FREE_MB); it holds {self._depth} events. Free disk space or "
                        "restore the link to the broker.",
                        depth=self._depth,
                        free_bytes=free,
                        path=str(self.path),
                    )
            try:
                self._db.execute("BEGIN IMMEDIATE")
                # A record that failed twice keeps its one row under its seq.
                added = self._db.executemany(
                    "INSERT INTO spool VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(seq) DO NOTHING", rows
                ).rowcount
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise SpoolError(f"could not write to spool {self.path}: {exc}", path=str(self.path)) from exc
            self._depth += added
            self._max_seq = max(self._max_seq, max(r[0] for r in rows))
            self._refresh_oldest()
        return len(rows)

    def peek(self, limit: int) -> list[SpoolRecord]:
        """The ``limit`` oldest records, in acceptance order (not removed), without those already sent."""
        with self._mutex:
            self._check_open()
            if self._undeleted:
                self._delete_locked(())  # the disk may have room again
            skip = self._undeleted
            rows = self._db.execute(
                "SELECT seq, topic, key, value, headers, theme, accepted_at FROM spool ORDER BY seq LIMIT ?",
                (limit + len(skip),),
            ).fetchall()
        return [SpoolRecord(r[0], r[1], r[2], r[3], _unpack_headers(r[4]), r[5], r[6])
                for r in rows if r[0] not in skip][:limit]

    def delete(self, seqs: Iterable[int]) -> None:
        """Remove records the broker acknowledged (or refused for good).

        On a full disk the delete cannot be written: the records are kept aside
        (never handed out by :meth:`peek` again, still counted in :attr:`depth`)
        and deleted by a later call once there is room. Other failures raise
        :class:`SpoolError` after keeping them aside the same way.
        """
        seqs = list(seqs)
        if not seqs:
            return
        with self._mutex:
            self._check_open()
            self._delete_locked(seqs)

    def free_bytes(self) -> int:
        """Bytes free on the spool's filesystem."""
        stat = os.statvfs(self.path.parent)
        return stat.f_bavail * stat.f_frsize

    def close(self) -> None:
        """Close the database and release the lock; records stay on disk."""
        with self._mutex:
            if self.closed:
                return
            self.closed = True
            self._db.close()
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()

    # -- internals -----------------------------------------------------------------

    def _delete_locked(self, seqs: Sequence[int]) -> None:
        pending = [*self._undeleted, *seqs]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            removed = self._db.executemany("DELETE FROM spool WHERE seq = ?", [(s,) for s in pending]).rowcount
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            # These records are on the topic already: sending them again would duplicate them.
            self._rollback()
            if not self._undeleted:
                log.warning("could not delete %d sent event(s) from spool %s (%s); they are not sent again, "
                            "and deleted once the disk has room", len(pending), self.path, exc)
            self._undeleted.update(seqs)
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                return
            raise SpoolError(f"could not delete from spool {self.path}: {exc}", path=str(self.path)) from exc
        if self._undeleted:
            log.info("deleted %d sent event(s) kept in spool %s while its disk was full", len(self._undeleted),
                     self.path)
            self._undeleted.clear()
        self._depth -= removed
        self._refresh_oldest()

    def _refresh_oldest(self) -> None:
        # seq grows with acceptance time, so the first row by seq is the oldest (an index lookup).
        row = self._db.execute("SELECT accepted_at FROM spool ORDER BY seq LIMIT 1").fetchone()
        self._oldest = row[0] if row else None

    def _rollback(self) -> None:
        # SQLite may already have rolled the transaction back itself (e.g. SQLITE_FULL): only roll
        # back one that is still open; a failed rollback is an error of its own, never swallowed.
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise SpoolError(f"could not roll back a failed write to spool {self.path}: {exc}",
                                 path=str(self.path)) from exc

    def _check_open(self) -> None:
        if self.closed:
            raise SpoolError(f"spool {self.path} is closed", path=str(self.path))

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
