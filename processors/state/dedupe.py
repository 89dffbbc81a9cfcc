"""The de-duplication window: event ids are remembered for ``EGOV_DEDUPE_WINDOW`` of arrival time.

Ids are kept per commit interval in ``s<hour><offset>`` records (see
:mod:`processors.state.keys`); when an arrival hour is entirely older than
the window, its records are deleted locally and tombstoned in the changelog
(compaction then removes them from the broker too). So memory and disk hold
at most one window of ids plus an hour, never all history.
"""

from __future__ import annotations

from datetime import timedelta

from processors.state import keys as K
from processors.state.store import StateStore, TaskState

#: How often a worker looks for expired hours (they expire hourly; a minute is soon enough).
EXPIRY_CHECK_S = 60.0


def cutoff_hour(now_s: float, window: timedelta) -> int:
    """Arrival hours below this are entirely outside the window."""
    return int((now_s - window.total_seconds()) // 3600)


def expired(store: StateStore, task: TaskState, cutoff: int) -> list[tuple[bytes, bytes]]:
    """The task's ``s`` records (changelog key, ids) of arrival hours below ``cutoff``."""
    prefix = task.prefix + K.SEEN_BATCH
    upto = task.prefix + K.seen_batch_key(cutoff, 0)
    n = len(task.prefix)
    return [(key[n:], value) for key, value in store.items(prefix, upto)]
