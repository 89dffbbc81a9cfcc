"""Commit-after-done bookkeeping for one partition.

Kafka commits a position, not a set of records: committing offset ``n``
says that everything before ``n`` is finished. Callers may finish events out
of order (a slow one, then quick ones), so the committable position is the
lowest offset handed out and not yet done; the rest waits until that one is done.
"""

from __future__ import annotations

from collections import deque


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
