"""The worker's local state: one RocksDB (rocksdict) per worker, one :class:`TaskState` per partition number.

Only committed state is ever written to RocksDB. Between two commits a task
keeps what the interval changed in memory (``pending`` rows, ``new_ids``);
the checkpointer writes the interval's changelog records inside the Kafka
transaction and, once that committed, the same changes and the task's
changelog checkpoint to RocksDB in one write batch. So the local store is
always a prefix of the committed changelog: a worker killed at any moment
restarts from its local store plus the changelog's tail (every changelog
record is an upsert, so reading a little more than needed is harmless), and
an aborted transaction only has to forget the in-memory part.

Memory is bounded by settings, not by history: RocksDB's block cache and
write buffers have fixed sizes, the decoded-row cache holds at most
``ROW_CACHE_ROWS`` rows, and the pending part holds one commit interval.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from rocksdict import AccessType, BlockBasedOptions, Cache, Options, Rdict, WriteBatch

from processors.state import keys as K
from processors.state.exceptions import StateError, StateLockedError

#: Decoded view rows kept in memory across commit intervals (all tasks together).
ROW_CACHE_ROWS = 20_000
BLOCK_CACHE_BYTES = 8 * 1024 * 1024
WRITE_BUFFER_BYTES = 4 * 1024 * 1024


def _options() -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.set_write_buffer_size(WRITE_BUFFER_BYTES)
    opts.set_max_write_buffer_number(2)
    opts.set_max_background_jobs(1)
    # Most lookups are for event ids never seen, and the newest ids sit in the memtable: a
    # whole-key bloom filter there answers "not here" in a fraction of a skiplist search.
    opts.set_memtable_prefix_bloom_ratio(0.1)
    opts.set_memtable_whole_key_filtering(True)
    table = BlockBasedOptions()
    table.set_block_cache(Cache(BLOCK_CACHE_BYTES))
    # The same for the files: a bloom filter answers without reading a block.
    table.set_bloom_filter(10, False)
    table.set_cache_index_and_filter_blocks(True)
    opts.set_block_based_table_factory(table)
    return opts


class StateStore:
    """The RocksDB database under ``<data dir>/state`` and the shared row cache."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.path = Path(data_dir) / "state"
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self.db = Rdict(str(self.path), options=_options(), access_type=AccessType.read_write())
        except Exception as exc:
            if "lock" in str(exc).lower():
                raise StateLockedError(
                    f"state directory {self.path} is in use by another worker; give each worker its own "
                    "EGOV_PROCESSOR_DATA_DIR",
                    path=str(self.path),
                ) from exc
            raise StateError(f"cannot open the state store {self.path}: {exc}", path=str(self.path)) from exc
        self.rows: dict[bytes, dict[str, Any]] = {}  # full local key -> decoded committed row (FIFO-bounded)
        self._tasks: dict[int, TaskState] = {}

    def task(self, partition: int) -> "TaskState":
        task = self._tasks.get(partition)
        if task is None:
            task = self._tasks[partition] = TaskState(self, partition)
        return task

    def tasks(self) -> list["TaskState"]:
        return list(self._tasks.values())

    def drop_task(self, partition: int) -> None:
        """Forget a revoked task's in-memory part; its committed local state stays for a later assignment."""
        task = self._tasks.pop(partition, None)
        if task is not None:
            for key in [k for k in self.rows if k.startswith(task.prefix)]:
                del self.rows[key]

    def cache_row(self, key: bytes, row: dict[str, Any]) -> None:
        rows = self.rows
        rows[key] = row
        if len(rows) > ROW_CACHE_ROWS:
            # FIFO eviction: dicts keep insertion order; rows are re-read from RocksDB when needed again.
            for old in list(rows)[: len(rows) - ROW_CACHE_ROWS + ROW_CACHE_ROWS // 10]:
                del rows[old]

    def forget_cached_rows(self) -> None:
        """After an aborted transaction: rows may have been changed in place; read them again from RocksDB."""
        self.rows.clear()

    def write(self, batch: WriteBatch) -> None:
        self.db.write(batch)

    def checkpoint(self, partition: int) -> int | None:
        raw = self.db.get(K.checkpoint_key(partition))
        return int(raw) if raw is not None else None

    def wipe_task(self, partition: int) -> None:
        """Delete a task's local state (its changelog no longer matches, e.g. recreated topics)."""
        prefix = K.task_prefix(partition)
        self.db.delete_range(prefix, prefix[:-1] + b"\x01")
        self.db.delete(K.checkpoint_key(partition))
        self.drop_task(partition)

    def items(self, prefix: bytes, upto: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Local ``(key, value)`` pairs from ``prefix`` on, while they start with ``prefix`` (and are below ``upto``)."""
        it = self.db.iter()
        it.seek(prefix)
        while it.valid():
            key = it.key()
            if not key.startswith(prefix) or (upto is not None and key >= upto):
                break
            yield key, it.value()
            it.next()

    def close(self) -> None:
        self.db.close()


def put_seen(batch: WriteBatch, prefix: bytes, key: bytes, ids: bytes) -> None:
    """Stage an ``s`` record of task ``prefix`` and the point-lookup key of each of its ids."""
    batch.put(prefix + key, ids)
    hour = key[1:9]
    for event_id in K.split_ids(ids):
        batch.put(prefix + K.SEEN_ID + event_id, hour)


def delete_seen(batch: WriteBatch, prefix: bytes, key: bytes, ids: bytes | None) -> None:
    """Stage the removal of an ``s`` record of task ``prefix`` and of its ids' lookup keys."""
    batch.delete(prefix + key)
    for event_id in K.split_ids(ids or b""):
        batch.delete(prefix + K.SEEN_ID + event_id)


class TaskState:
    """View rows and the de-duplication memory of one partition number of the theme topics.

    A mapping for :func:`processors.views.aggregates.apply_event` (``get`` and
    assignment); assignment marks the row changed in this commit interval.
    """

    __slots__ = ("store", "partition", "prefix", "pending", "new_ids", "_db_get", "_rows")

    def __init__(self, store: StateStore, partition: int) -> None:
        self.store = store
        self.partition = partition
        self.prefix = K.task_prefix(partition)
        self.pending: dict[str, dict[str, Any]] = {}  # view state key -> row changed this interval
        self.new_ids: dict[bytes, None] = {}  # event ids first seen this interval, in order
        self._db_get = store.db.get
        self._rows = store.rows

    # -- the mapping the aggregators use -------------------------------------------------

    def get(self, skey: str, default: Any = None) -> Any:
        row = self.pending.get(skey)
        if row is not None:
            return row
        key = self.prefix + K.VIEW + skey.encode()
        row = self._rows.get(key)
        if row is None:
            raw = self._db_get(key)
            if raw is None:
                return default
            row = orjson.loads(raw)
            self.store.cache_row(key, row)
        return row

    def __getitem__(self, skey: str) -> Any:
        row = self.get(skey)
        if row is None:
            raise KeyError(skey)
        return row

    def __setitem__(self, skey: str, row: dict[str, Any]) -> None:
        self.pending[skey] = row

    # -- de-duplication ------------------------------------------------------------------

    def is_seen(self, event_id: bytes) -> bool:
        return event_id in self.new_ids or self._db_get(self.prefix + K.SEEN_ID + event_id) is not None

    def mark_seen(self, event_id: bytes) -> None:
        if len(event_id) != K.EVENT_ID_BYTES:
            raise StateError(f"event id {event_id!r} is not a canonical UUID", event_id=event_id.decode(errors="replace"))
        self.new_ids[event_id] = None

    # -- commit --------------------------------------------------------------------------

    def has_changes(self) -> bool:
        return bool(self.pending or self.new_ids)

    def changelog_records(self, now_s: float | None = None) -> list[tuple[bytes, bytes]]:
        """This interval's changelog records (key, value) for the task's changelog partition."""
        out = [(K.VIEW + skey.encode(), orjson.dumps(row)) for skey, row in self.pending.items()]
        if self.new_ids:
            now = now_s if now_s is not None else time.time()
            key = K.seen_batch_key(int(now // 3600), int(now * 1000))
            previous = self._db_get(self.prefix + key)
            ids = b"".join(self.new_ids)
            # Two commits in one millisecond (a revocation right after a commit): keep both.
            out.append((key, previous + ids if previous else ids))
        return out

    def stage_local(self, batch: WriteBatch, records: list[tuple[bytes, bytes]], next_changelog_offset: int | None) -> None:
        """Put the committed interval into ``batch`` (RocksDB) and move it out of ``pending``."""
        prefix = self.prefix
        for key, value in records:
            if key[:1] == K.SEEN_BATCH:
                put_seen(batch, prefix, key, value)
            else:
                batch.put(prefix + key, value)
        if next_changelog_offset is not None:
            batch.put(K.checkpoint_key(self.partition), str(next_changelog_offset).encode())
        for skey, row in self.pending.items():
            self.store.cache_row(prefix + K.VIEW + skey.encode(), row)
        self.clear_pending()

    def clear_pending(self) -> None:
        self.pending = {}
        self.new_ids = {}

    def view_rows(self, view: str = "") -> Iterator[tuple[str, Any]]:
        """The task's committed rows (of ``view``, or all), ``(view state key, state)``: for the gauges."""
        prefix = self.prefix + K.VIEW
        for key, value in self.store.items(prefix + view.encode()):
            yield key[len(prefix) :].decode(), orjson.loads(value)
