"""How state keys look, locally (RocksDB) and in the changelog.

A *task* is one partition number of the theme topics: every theme topic has
the same partition count and is keyed by region code, so a region's events of
every theme land in the same partition number, and a view that joins themes
(budget absorption: allocations from ``budgeting``, realisations from
``treasury``) finds both halves of a row in one task. Locally every key
carries its task's prefix; in the changelog (one compacted topic, partitioned
like the theme topics) the partition is the task, so the key goes without it.

Changelog keys and values:

* ``v<view>|<view key>`` -> the row's state as JSON;
* ``s<hour:08x><commit ms:016x>`` -> the event ids (36-byte text UUIDs,
  concatenated) first seen in one commit interval, in the arrival hour
  ``hour`` (epoch hours, wall clock); a tombstone when the hour leaves the
  de-duplication window.

Local only: ``d<event id>`` (derived from the ``s`` records, one point lookup
per event) and a checkpoint per task: the next changelog offset not yet in
the local store.
"""

from __future__ import annotations

# The changelog's name is a topic-name rule; re-exported for the stream loop (K.changelog_topic).
from schemas.topic_names import changelog_topic  # noqa: F401

VIEW = b"v"
SEEN_BATCH = b"s"
SEEN_ID = b"d"
CHECKPOINT_PREFIX = b"\x01checkpoint\x00"
EVENT_ID_BYTES = 36  # canonical text form of a UUID


def task_prefix(partition: int) -> bytes:
    return b"%05d\x00" % partition


def checkpoint_key(partition: int) -> bytes:
    return CHECKPOINT_PREFIX + task_prefix(partition)


def seen_batch_key(hour: int, commit_ms: int) -> bytes:
    return SEEN_BATCH + b"%08x%016x" % (hour, commit_ms)


def split_ids(packed: bytes) -> list[bytes]:
    """The event ids of an ``s`` value."""
    n = EVENT_ID_BYTES
    return [packed[i : i + n] for i in range(0, len(packed), n)]

