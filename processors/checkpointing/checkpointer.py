"""One commit interval's end: view rows, changelog, expiry, offsets; local state once committed.

Exactly-once (v2): everything the interval produced (dead letters, routed and
re-keyed copies, produced as records were processed), then the view rows of
the keys it changed and its changelog records go into the worker's one open
transaction, with the consumed offsets (``send_offsets_to_transaction``) — the
views become visible to ``read_committed`` readers when it commits. Only then
is the interval written to RocksDB. A failed transaction is aborted and the
interval forgotten; the loop rewinds its partitions to the committed offsets.

At-least-once: the outputs and view rows are flushed (acknowledged) first,
then the changelog, then the interval goes to RocksDB, then the offsets are
committed. A crash before the changelog is acknowledged re-reads records that
are not seen yet (their outputs go again: at least once); a crash after it
re-reads records whose ids are seen: the views stay exact either way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaException, TopicPartition
from rocksdict import WriteBatch

from processors import metrics
from processors.kafka.exceptions import EngineKafkaError
from processors.pipeline import Outgoing, Pipeline, TaskResult
from processors.state import dedupe
from processors.state import keys as K
from processors.state.store import StateStore, delete_seen

log = logging.getLogger("egov.processors.checkpointing")

TaskKey = tuple[str, int]
#: A commit slower than this is logged with where its time went.
SLOW_COMMIT_S = 0.25


class Checkpointer:
    """Collects what the records of one interval did and commits it as one unit."""

    def __init__(
        self,
        *,
        producer: Any,
        consumer: Any,
        store: StateStore,
        pipeline: Pipeline,
        changelog: str,
        exactly_once: bool,
        dedupe_window: timedelta,
        timeout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.producer = producer
        self.consumer = consumer
        self.store = store
        self.pipeline = pipeline
        self.changelog = changelog
        self.exactly_once = exactly_once
        self.window = dedupe_window
        self.timeout_s = timeout_s
        self.clock = clock
        self.offsets: dict[TaskKey, int] = {}  # next offset to read, not committed yet
        self.committed: dict[TaskKey, int] = {}  # next offset to read, committed
        self.changed: dict[int, set[tuple[str, str]]] = {}  # task (partition) -> view keys changed
        self.result = TaskResult()
        self._next_expiry = 0.0
        self._changelog_next: dict[int, int] = {}
        self._in_transaction = False
        self._failures: list[str] = []
        #: The audit log (processors.audit.log.AuditLog), whose records join each commit; None: no audit.
        self.audit: Any = None

    # -- during the interval ----------------------------------------------------------

    def begin(self) -> None:
        if self.exactly_once and not self._in_transaction:
            self.producer.begin_transaction()
            self._in_transaction = True

    def send(self, record: Outgoing, partition: int = -1, on_delivery: Any = None) -> None:
        """Produce one record (into the open transaction under exactly-once); ``-1``: the partitioner's choice."""
        while True:
            try:
                self.producer.produce(record.topic, record.value, record.key, partition, on_delivery,
                                      headers=record.headers or None)
                return
            except BufferError:
                # librdkafka's queue is full: let it deliver, then try again.
                self.producer.poll(0.05)

    def track(self, topic: str, partition: int, next_offset: int, result: TaskResult) -> None:
        """Records of ``topic[partition]`` up to ``next_offset`` ran; their outputs are sent now."""
        send = self.send
        for record in result.outgoing:
            send(record)
        result.outgoing = []
        self.offsets[(topic, partition)] = next_offset
        if result.changed:
            self.changed.setdefault(partition, set()).update(result.changed)
        self.result.merge(result)
        self.producer.poll(0)

    def has_work(self) -> bool:
        return bool(self.offsets) or time.monotonic() >= self._next_expiry

    # -- the end of the interval ----------------------------------------------------------

    def commit(self) -> None:
        """End the interval: see the module doc. Raises ``KafkaException`` when the broker fails it."""
        if not self.has_work():
            return
        started = time.monotonic()
        now = self.clock()
        tasks = [self.store.task(p) for p in sorted({p for _, p in self.offsets})]
        for task in tasks:
            changed = self.changed.get(task.partition)
            if changed:
                for record in self.pipeline.view_records(changed, task):
                    self.send(record)
        audit_heads: dict[int, list[tuple[bytes, bytes]]] = {}
        if self.audit is not None:
            # In the transaction with the offsets: an audit record exists exactly when its interval committed.
            audit_records, audit_heads = self.audit.close_interval(now)
            for audit_record in audit_records:
                self.send(self.audit.outgoing(audit_record))
        if not self.exactly_once:
            # Outputs acknowledged before the state that says their events were handled: a crash
            # in between re-reads the records (not seen yet) rather than losing their outputs.
            self._flush()
        local: list[tuple[Any, list[tuple[bytes, bytes]]]] = []
        for task in tasks:
            records = task.changelog_records(now) if task.has_changes() else []
            records += audit_heads.get(task.partition, ())
            if records:
                self._send_changelog(task, records)
                local.append((task, records))
        expired = self._expire(now)
        produced = time.monotonic()
        if self.exactly_once:
            if self.offsets:
                offsets = [TopicPartition(t, p, o) for (t, p), o in self.offsets.items()]
                self.producer.send_offsets_to_transaction(offsets, self.consumer.consumer_group_metadata(), self.timeout_s)
            offsets_sent = time.monotonic()
            self.producer.commit_transaction(self.timeout_s)
            self._in_transaction = False
        else:
            offsets_sent = time.monotonic()
            self._flush()
        committed = time.monotonic()
        self.producer.poll(0)  # delivery reports: where each task's changelog ends now
        batch = WriteBatch(raw_mode=True)
        for task, records in local:
            task.stage_local(batch, records, self._changelog_next.pop(task.partition, None))
        for task, gone in expired:
            for key, ids in gone:
                delete_seen(batch, task.prefix, key, ids)
        self.store.write(batch)
        if not self.exactly_once and self.offsets:
            self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in self.offsets.items()], asynchronous=False)
        self.committed.update(self.offsets)
        self.pipeline.observe(self.result, self.clock())
        took = time.monotonic() - started
        metrics.COMMIT_SECONDS.observe(took)
        if took > SLOW_COMMIT_S:
            log.warning(
                "slow commit: %.0f ms (views and changelog %.0f, offsets %.0f, commit %.0f, local state %.0f) for %d events",
                took * 1000, (produced - started) * 1000, (offsets_sent - produced) * 1000,
                (committed - offsets_sent) * 1000, (time.monotonic() - committed) * 1000, self.result.events,
            )
        self._reset()
        self.begin()

    def _flush(self) -> None:
        remaining = self.producer.flush(self.timeout_s)
        if remaining or self._failures:
            failures, self._failures = self._failures, []
            raise EngineKafkaError(f"{remaining} record(s) unacknowledged, failures: {failures[:3]}")

    def _send_changelog(self, task: Any, records: list[tuple[bytes, bytes | None]]) -> None:
        topic = self.changelog
        partition = task.partition

        def delivered(err: Any, msg: Any) -> None:
            if err is None:
                self._changelog_next[partition] = msg.offset() + 1
            else:
                self._failures.append(f"{topic}[{task.partition}]: {err}")

        last = len(records) - 1
        for i, (k, v) in enumerate(records):
            self.send(Outgoing(topic, k, v), partition=task.partition, on_delivery=delivered if i == last else None)

    def _expire(self, now: float) -> list[tuple[Any, list[tuple[bytes, bytes]]]]:
        """Tombstones for the seen-id records that left the window (at most every ``EXPIRY_CHECK_S``)."""
        if time.monotonic() < self._next_expiry:
            return []
        self._next_expiry = time.monotonic() + dedupe.EXPIRY_CHECK_S
        cutoff = dedupe.cutoff_hour(now, self.window)
        out = []
        for task in self.store.tasks():
            gone = dedupe.expired(self.store, task, cutoff)
            if gone:
                for key, ids in gone:
                    self.send(Outgoing(self.changelog, key, None), partition=task.partition)
                    metrics.DEDUPE_EXPIRED_IDS.inc(len(ids) // K.EVENT_ID_BYTES)
                out.append((task, gone))
        return out

    def _reset(self) -> None:
        if self.audit is not None:
            self.audit.reset()
        self.offsets = {}
        self.changed = {}
        self.result = TaskResult()

    def abort(self) -> dict[TaskKey, int]:
        """Forget the interval (the transaction is aborted); returns where each partition must read again."""
        if self.exactly_once and self._in_transaction:
            try:
                self.producer.abort_transaction(self.timeout_s)
            except KafkaException as exc:
                log.warning("abort_transaction failed: %s", exc)
            self._in_transaction = False
        rewind = {tp: self.committed.get(tp, -2) for tp in self.offsets}
        for task in self.store.tasks():
            task.clear_pending()
        self.store.forget_cached_rows()  # rows may have been changed in place by the forgotten records
        self._changelog_next.clear()
        self._failures.clear()
        self._reset()
        return rewind

    def on_delivery_error(self, err: Any, msg: Any) -> None:
        """Producer-wide delivery callback (at-least-once): remember failures for the commit."""
        if err is not None:
            self._failures.append(f"{msg.topic()}[{msg.partition()}]: {err}")
