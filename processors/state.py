"""Aggregate state and the seen-set, kept in one changelogged Faust table.

The table (memory store) holds two kinds of keys, both in the partition of
the source events they come from (a region's events always share one
partition, because every topic is keyed by region code):

* ``"<view>|<view key>"`` -> the aggregate state of one view key (JSON);
* ``"~seen|<topic>|<partition>|<first offset>"`` -> the event ids first seen in
  one batch of that topic partition.

Writes are collected per batch and go to the changelog once per changed key
(not once per event) in the same transaction as the batch's offsets
(exactly-once) or before the offsets are committed (at-least-once). The
seen-set of a partition is rebuilt from the ``~seen`` records after a
rebalance, so a duplicate never changes a view, whichever worker sees it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, MutableMapping
from typing import Any

import orjson

SEEN_PREFIX = "~seen|"


class PartitionView(MutableMapping[str, Any]):
    """The state of one partition as a mapping; assignment marks a key dirty."""

    __slots__ = ("_data", "_dirty", "_key_partition", "_partition")

    def __init__(self, data: dict[str, Any], dirty: set[str], key_partition: dict[str, int], partition: int) -> None:
        self._data = data
        self._dirty = dirty
        self._key_partition = key_partition
        self._partition = partition

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._key_partition[key] = self._partition
        self._dirty.add(key)

    def __delitem__(self, key: str) -> None:  # views never delete; kept for the ABC
        raise TypeError("view state keys are never deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class TableState:
    """Partitioned state over a Faust table's memory store (or a plain dict in tests).

    ``store_data`` is the dict holding the table's values and ``key_partition``
    the store's key -> partition index (Faust's memory store drops the keys
    of partitions a worker no longer owns after recovery by that index).
    """

    def __init__(self, store_data: dict[str, Any], key_partition: dict[str, int]) -> None:
        self.data = store_data
        self.key_partition = key_partition
        self._dirty: dict[int, set[str]] = defaultdict(set)
        self._new_seen: dict[tuple[str, int], tuple[int, list[str]]] = {}
        self._seen: dict[int, set[str]] = defaultdict(set)
        self._seen_stale = True

    @classmethod
    def of_table(cls, table: Any) -> "TableState":
        store = table.data  # faust.stores.memory.Store
        return cls(store.data, store._key_partition)

    # -- rebalance ---------------------------------------------------------------

    def invalidate(self) -> None:
        """After a rebalance: rebuild the seen-sets from the (recovered) table before the next batch."""
        self._seen_stale = True

    def _rebuild_seen(self) -> None:
        seen: dict[int, set[str]] = defaultdict(set)
        for key, value in self.data.items():
            if key.startswith(SEEN_PREFIX) and value:
                seen[int(key.rsplit("|", 2)[1])].update(value)
        self._seen = seen
        self._seen_stale = False

    # -- per batch ---------------------------------------------------------------

    def partition(self, partition: int) -> PartitionView:
        if self._seen_stale:
            self._rebuild_seen()
        return PartitionView(self.data, self._dirty[partition], self.key_partition, partition)

    def is_seen(self, partition: int, event_id: str) -> bool:
        if self._seen_stale:
            self._rebuild_seen()
        return event_id in self._seen[partition]

    def mark_seen(self, topic: str, partition: int, offset: int, event_id: str) -> None:
        self._seen[partition].add(event_id)
        entry = self._new_seen.get((topic, partition))
        if entry is None:
            self._new_seen[(topic, partition)] = (offset, [event_id])
        else:
            entry[1].append(event_id)

    def dirty_partitions(self) -> set[int]:
        return {p for p, keys in self._dirty.items() if keys} | {p for _, p in self._new_seen}

    def take_changelog(self, partition: int) -> list[tuple[bytes, bytes]]:
        """The changelog records (JSON key, JSON value) of ``partition`` since the last call.

        The state records come before the seen record: with at-least-once
        delivery a crash in between re-applies the batch (its events are not
        seen yet) rather than losing it.
        """
        out = []
        for key in sorted(self._dirty.pop(partition, ())):
            out.append((orjson.dumps(key), orjson.dumps(self.data[key])))
        for (topic, p), (first_offset, ids) in list(self._new_seen.items()):
            if p != partition:
                continue
            del self._new_seen[(topic, p)]
            key = f"{SEEN_PREFIX}{topic}|{p}|{first_offset}"
            previous = self.data.get(key)
            # A batch re-read after a crash starts at the same offset: keep what was there.
            value = sorted(set(previous or ()) | set(ids)) if previous else ids
            self.data[key] = value
            self.key_partition[key] = p
            out.append((orjson.dumps(key), orjson.dumps(value)))
        return out

    def discard_pending(self) -> None:
        """Forget unsent writes (the batch failed; the worker restarts from the changelog)."""
        self._dirty.clear()
        self._new_seen.clear()

    def view_items(self) -> Iterator[tuple[str, Any]]:
        """Every view state key and value this worker holds (for gauges and refreshes)."""
        for key, value in list(self.data.items()):
            if not key.startswith(SEEN_PREFIX):
                yield key, value
