"""Commit-after-done bookkeeping: per partition, and over a member's assignment.

Kafka commits a position, not a set of records: committing offset ``n``
says that everything before ``n`` is finished. Callers may finish events out
of order (a slow one, then quick ones), so the committable position is the
lowest offset handed out and not yet done; the rest waits until that one is done.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

#: A (topic, partition) pair.
TP = tuple[str, int]


class PartitionProgress:
    """Offsets handed out on one partition and which of them are done."""

    __slots__ = ("_outstanding", "_done", "_next", "committable")

    def __init__(self) -> None:
        self._outstanding: deque[int] = deque()
        self._done: set[int] = set()
        self._next: int | None = None
        #: The position that may be committed (next offset to read), None before any record.
        self.committable: int | None = None

    def handed_out(self, offset: int) -> None:
        """Record ``offset`` as given to the caller (offsets only increase, except after a seek back)."""
        if self._next is not None and offset < self._next:
            # A seek back re-reads records: forget what was handed out from there on.
            while self._outstanding and self._outstanding[-1] >= offset:
                self._done.discard(self._outstanding.pop())
        self._outstanding.append(offset)
        self._next = offset + 1

    def withdraw(self, offset: int) -> None:
        """Forget the last handed-out ``offset`` (it will be read again after a seek back)."""
        if self._outstanding and self._outstanding[-1] == offset:
            self._outstanding.pop()
            self._done.discard(offset)
            self._next = offset

    def done(self, offset: int) -> int | None:
        """Mark ``offset`` done; returns the new committable position when it moved, else None."""
        if offset not in self._outstanding or offset in self._done:
            return None
        self._done.add(offset)
        moved = False
        while self._outstanding and self._outstanding[0] in self._done:
            self._done.discard(self._outstanding.popleft())
            moved = True
        if not moved:
            return None
        self.committable = self._outstanding[0] if self._outstanding else self._next
        return self.committable

    @property
    def pending(self) -> int:
        """Handed out and not done yet."""
        return len(self._outstanding) - len(self._done)


class Assignment:
    """The partitions one member owns and, per partition, its progress and read position.

    Thread-safe: the rebalance callbacks and the polling thread change it, and
    :meth:`done` may come from any thread. Knows nothing of Kafka clients (the
    subscriber makes the calls), so it is tested without a broker.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._progress: dict[TP, PartitionProgress] = {}
        self._assigned: set[TP] = set()
        # Partitions whose replay start (from_time) was applied: a later reassignment resumes
        # from the committed offsets instead of replaying twice.
        self._replayed: set[TP] = set()
        self._at_eof: set[TP] = set()
        self._next_offset: dict[TP, int] = {}

    def assign(self, keys: Iterable[TP]) -> None:
        """Take partitions over, with fresh progress (the group's committed offsets are where they resume)."""
        with self._lock:
            for key in keys:
                self._assigned.add(key)
                self._progress[key] = PartitionProgress()
                self._at_eof.discard(key)
                self._next_offset.pop(key, None)

    def forget(self, keys: Iterable[TP]) -> None:
        """Give partitions up (revoked or lost)."""
        with self._lock:
            for key in keys:
                self._assigned.discard(key)
                self._progress.pop(key, None)
                self._at_eof.discard(key)
                self._next_offset.pop(key, None)

    def not_replayed(self, keys: Iterable[TP]) -> list[TP]:
        """Those of ``keys`` that have not had their replay start yet."""
        with self._lock:
            return [key for key in keys if key not in self._replayed]

    def replayed(self, key: TP) -> None:
        with self._lock:
            self._replayed.add(key)

    def at_end(self, key: TP) -> None:
        """The consumer reported the end of the partition."""
        with self._lock:
            self._at_eof.add(key)

    def handed_out(self, key: TP, offset: int) -> None:
        """A record at ``offset`` was read and is about to be handed out."""
        with self._lock:
            self._at_eof.discard(key)
            self._next_offset[key] = offset + 1
            self._progress.setdefault(key, PartitionProgress()).handed_out(offset)

    def withdraw(self, key: TP, offset: int) -> None:
        """The record at ``offset`` will be read again (the consumer seeks back to it)."""
        with self._lock:
            progress = self._progress.get(key)
            if progress is not None:
                progress.withdraw(offset)
            self._next_offset[key] = offset

    def done(self, key: TP, offset: int) -> tuple[bool, int | None]:
        """Mark ``offset`` done: ``(owned, new committable position or None)``."""
        with self._lock:
            progress = self._progress.get(key)
            if progress is None:
                return False, None
            return True, progress.done(offset)

    def owned(self) -> list[TP]:
        """The partitions owned now, sorted."""
        with self._lock:
            return sorted(self._assigned)

    def caught_up(self, ends: dict[TP, int], end_of: Callable[[TP], int]) -> bool:
        """True once every owned partition has been read up to its end.

        ``ends`` remembers each partition's end offset when first asked (``end_of``
        asks the broker): records arriving later need not be waited for.
        """
        with self._lock:
            assigned = set(self._assigned)
            at_eof = set(self._at_eof)
            positions = dict(self._next_offset)
        if not assigned:
            return False
        for key in assigned:
            if key in at_eof:
                continue
            if key not in ends:
                ends[key] = end_of(key)
            position = positions.get(key)
            if position is None or position < ends[key]:
                return False
        return True
