"""Unit tests of the local state (a real RocksDB in a temporary directory; no Kafka)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from rocksdict import WriteBatch

from processors.state import dedupe
from processors.state import keys as K
from processors.state.exceptions import StateLockedError
from processors.state.restore import _apply
from processors.state.store import StateStore

HOUR = 3600.0


def ids(n: int) -> list[bytes]:
    return [str(uuid.UUID(int=i + 1)).encode() for i in range(n)]


def commit(store: StateStore, partition: int, now_s: float, checkpoint: int | None = None) -> list[tuple[bytes, bytes]]:
    """What the checkpointer does once a transaction committed: the interval goes to RocksDB."""
    task = store.task(partition)
    records = task.changelog_records(now_s)
    batch = WriteBatch(raw_mode=True)
    task.stage_local(batch, records, checkpoint)
    store.write(batch)
    return records


def test_rows_pending_until_committed_then_read_back_from_rocksdb(tmp_path) -> None:
    store = StateStore(tmp_path)
    task = store.task(3)
    task["integration_index|32.01|budgeting"] = {"events_total": 1, "days": {"2026-01-01": 1}}
    assert task.get("integration_index|32.01|budgeting")["events_total"] == 1
    records = commit(store, 3, 1_000 * HOUR, checkpoint=42)
    assert records == [(b"vintegration_index|32.01|budgeting", b'{"events_total":1,"days":{"2026-01-01":1}}')]
    store.close()

    reopened = StateStore(tmp_path)
    assert reopened.checkpoint(3) == 42
    assert reopened.task(3).get("integration_index|32.01|budgeting") == {"events_total": 1, "days": {"2026-01-01": 1}}
    assert reopened.task(4).get("integration_index|32.01|budgeting") is None  # another task's key space


def test_seen_ids_survive_a_commit_and_a_forgotten_interval_forgets_them(tmp_path) -> None:
    store = StateStore(tmp_path)
    a, b = ids(2)
    task = store.task(0)
    task.mark_seen(a)
    assert task.is_seen(a) and not task.is_seen(b)
    commit(store, 0, 10 * HOUR)
    task.mark_seen(b)
    task.clear_pending()  # an aborted transaction
    assert task.is_seen(a) and not task.is_seen(b)


def test_ids_expire_with_their_arrival_hour_and_tombstone_their_record(tmp_path) -> None:
    store = StateStore(tmp_path)
    old, recent = ids(2)
    window = timedelta(days=7)
    start = 500_000 * HOUR
    store.task(1).mark_seen(old)
    (old_key, old_value), = commit(store, 1, start + 10)
    store.task(1).mark_seen(recent)
    commit(store, 1, start + 2 * HOUR + 10)

    # Six days later nothing has left the window; seven days and an hour later the first hour has.
    assert dedupe.expired(store, store.task(1), dedupe.cutoff_hour(start + 6 * 24 * HOUR, window)) == []
    gone = dedupe.expired(store, store.task(1), dedupe.cutoff_hour(start + 7 * 24 * HOUR + HOUR + 20, window))
    assert gone == [(old_key, old_value)] and K.split_ids(old_value) == [old]


def test_restoring_a_tombstone_forgets_the_ids_of_its_record(tmp_path) -> None:
    store = StateStore(tmp_path)
    a, b = ids(2)
    prefix = K.task_prefix(2)
    key = K.seen_batch_key(7, 7_000)
    batch = WriteBatch(raw_mode=True)
    _apply(store, batch, {}, prefix, b"vintegration_index|11|planning", b'{"events_total":3}')
    _apply(store, batch, {}, prefix, key, a + b)
    store.write(batch)
    assert store.task(2).is_seen(a) and store.task(2).is_seen(b)
    assert store.task(2).get("integration_index|11|planning") == {"events_total": 3}
    batch = WriteBatch(raw_mode=True)
    _apply(store, batch, {}, prefix, key, None)
    store.write(batch)
    store.forget_cached_rows()
    assert not store.task(2).is_seen(a) and not store.task(2).is_seen(b)


def test_a_second_worker_on_the_same_directory_is_refused_clearly(tmp_path) -> None:
    first = StateStore(tmp_path)
    with pytest.raises(StateLockedError, match="give each worker its own EGOV_PROCESSOR_DATA_DIR"):
        StateStore(tmp_path)
    first.close()


def test_wipe_removes_only_that_task(tmp_path) -> None:
    store = StateStore(tmp_path)
    for p in (1, 2):
        store.task(p)["integration_index|11|planning"] = {"events_total": p}
        commit(store, p, HOUR, checkpoint=5)
    store.wipe_task(1)
    assert store.checkpoint(1) is None and store.task(1).get("integration_index|11|planning") is None
    assert store.checkpoint(2) == 5 and store.task(2).get("integration_index|11|planning") == {"events_total": 2}
