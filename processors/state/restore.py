"""Restoring tasks' local state from the changelog: only the tail past each task's checkpoint."""

from __future__ import annotations

import logging
import time
from typing import Any

from confluent_kafka import KafkaError, TopicPartition
from rocksdict import WriteBatch

from bus.retry import RetryPolicy
from processors.state import keys as K
from processors.state.exceptions import StateError
from processors.state.store import StateStore, delete_seen, put_seen

log = logging.getLogger("egov.processors.state")

#: Re-asks of a changelog partition's watermarks that contradict the local checkpoint (its metadata may
#: still be settling after a leader change): three asks in all, a jittered pause of up to 0.5 s, then 1 s.
WATERMARK_REASK = RetryPolicy(initial_s=0.5, cap_s=1.0, floor_s=0.1, max_attempts=3)

#: Past this without progress, a changelog that does not reach its end is an error (an open
#: transaction of a killed worker aborts within the transaction timeout, 30 s).
RESTORE_STALL_S = 60.0
_CHUNK = 10_000


def restore_tasks(store: StateStore, consumer: Any, partitions: list[int], changelog: str, timeout_s: float,
                  watermarks: Any) -> int:
    """Bring the tasks' local state up to the end of their changelog partitions; returns the records read.

    The local checkpoint says where a task's local store stops. Every changelog
    record is an upsert (or a tombstone), so re-reading a few records that the
    store already has is harmless; a checkpoint outside the changelog (recreated
    topics) wipes the task and restores it from the start. All partitions are
    read at once, by one consumer.

    ``consumer`` reads ``read_committed`` (aborted writes are skipped);
    ``watermarks`` (``read_uncommitted``) gives each partition's true end. The
    ``read_committed`` end (the last stable offset) stops short of a
    transaction still open — a worker that was just stopped or killed — and
    must not be mistaken for the end: the restore waits until that
    transaction is resolved (committed, or aborted within the transaction
    timeout) and reads to the true end.
    """
    ends: dict[int, int] = {}
    starts = []
    for partition in partitions:
        checkpoint = store.checkpoint(partition)
        low, high = _watermarks(watermarks, changelog, partition, timeout_s, checkpoint)
        if checkpoint is not None and (checkpoint > high or checkpoint < low):
            log.warning("task %d: local checkpoint %d outside the changelog %s [%d, %d): restoring from the start",
                        partition, checkpoint, changelog, low, high)
            store.wipe_task(partition)
            checkpoint = None
        start = checkpoint if checkpoint is not None else low
        if start < high:
            ends[partition] = high
            starts.append(TopicPartition(changelog, partition, start))
    if not starts:
        return 0
    consumer.assign(starts)
    read = 0
    positions = {tp.partition: tp.offset for tp in starts}
    last_progress = time.monotonic()
    try:
        while ends:
            msgs = consumer.consume(_CHUNK, 0.1)
            batch = WriteBatch(raw_mode=True)
            added: dict[bytes, bytes] = {}  # s records of this chunk (a WriteBatch cannot be read)
            for msg in msgs:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise StateError(f"restoring {changelog}[{msg.partition()}]: {err.str()}", topic=changelog)
                partition = msg.partition()
                _apply(store, batch, added, K.task_prefix(partition), msg.key(), msg.value())
                read += 1
                positions[partition] = msg.offset() + 1
            # Transaction markers take offsets too: the position says how far the reader really is.
            for tp in consumer.position([TopicPartition(changelog, p) for p in ends]):
                positions[tp.partition] = max(positions[tp.partition], tp.offset)
            for partition in list(ends):
                batch.put(K.checkpoint_key(partition), str(positions[partition]).encode())
                if positions[partition] >= ends[partition]:
                    del ends[partition]
            store.write(batch)
            if msgs:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > RESTORE_STALL_S:
                raise StateError(f"restoring {changelog} stalled at {positions} of {ends}", topic=changelog)
    finally:
        consumer.unassign()
    return read


def _watermarks(consumer: Any, changelog: str, partition: int, timeout_s: float, checkpoint: int | None) -> tuple[int, int]:
    """The partition's (log start, end); asked again before an answer that would wipe local state is believed."""
    tp = TopicPartition(changelog, partition)
    backoff = WATERMARK_REASK.backoff()
    attempts = WATERMARK_REASK.max_attempts or 1
    for attempt in range(attempts):
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
        if checkpoint is None or low <= checkpoint <= high:
            break
        log.warning("task %d: changelog %s reports [%d, %d) but the local checkpoint is %d (attempt %d)",
                    partition, changelog, low, high, checkpoint, attempt + 1)
        if attempt + 1 < attempts:
            time.sleep(backoff.next_delay())  # back-off between queries of a partition whose metadata may be settling
    return low, high


def _apply(store: StateStore, batch: WriteBatch, added: dict[bytes, bytes], prefix: bytes, key: bytes, value: bytes | None) -> None:
    if key[:1] == K.SEEN_BATCH:
        if value is None:
            delete_seen(batch, prefix, key, added.pop(prefix + key, None) or store.db.get(prefix + key))
        else:
            added[prefix + key] = value
            put_seen(batch, prefix, key, value)
        return
    if value is None:
        batch.delete(prefix + key)
    else:
        batch.put(prefix + key, value)
