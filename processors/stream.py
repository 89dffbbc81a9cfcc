"""The worker's consume–transform–produce loop on confluent-kafka (librdkafka).

One thread, one group consumer, one producer
(transactional under exactly-once), one RocksDB. Every poll returns up to
``MAX_POLL_RECORDS`` records; they run through the pipeline at once, their
outputs are produced at once, and every ``EGOV_COMMIT_INTERVAL_MS`` the
:class:`~processors.checkpointing.Checkpointer` commits the interval.

The group uses the range assignor: it gives a member the same partition
numbers of every theme topic (they share a partition count), and a task is
one partition number (see :mod:`processors.state.keys`), so a view that joins
themes is computed in one place. Rebalances (inside ``consume``, in this
thread): newly assigned tasks are restored from their changelog's tail
before they are fetched; before partitions are revoked the interval is
committed; lost partitions (the group moved on without us) abort the
interval and rewind the rest.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import defaultdict
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from bus.kafka import connectivity
from bus.settings import EgovSettings
from processors.audit.log import open_audit_log
from processors.checkpointing import Checkpointer
from processors.health import LagGauge
from processors.kafka import clients
from processors.kafka.exceptions import EngineKafkaError, FencedError
from bus.keys.exceptions import KeyRegisterError
from bus.keys.ring import FollowingKeyRing
from processors.pipeline import Pipeline
from processors.verify import Verifier
from processors.state import keys as K
from processors.state.restore import restore_tasks
from processors.state.store import StateStore
from processors import metrics

log = logging.getLogger("egov.processors.stream")

#: Records per poll: small enough that a poll never holds up a commit for long.
MAX_POLL_RECORDS = 2_000
#: Records already fetched that a commit takes along at most (a bound on one interval's size).
DRAIN_RECORDS = 20_000
_COMMIT_RETRIES = 3
LAG_INTERVAL_S = 10.0


class StreamLoop:
    """Runs the pipeline over the theme topics until ``stop`` is set (see the module doc)."""

    def __init__(self, settings: EgovSettings, pipeline: Pipeline, source_topics: list[str], partitions: int,
                 keys_topic: str | None = None, audit_topic: str | None = None) -> None:
        self.settings = settings
        #: Where each commit appends its audit records (None: no audit log).
        self.audit_topic = audit_topic
        #: The key register the pipeline verifies records against (None: records are not verified).
        self.keys_topic = keys_topic
        self.keyring: FollowingKeyRing | None = None
        self.pipeline = pipeline
        self.source_topics = source_topics
        self.partitions = partitions
        self.app_id = settings.processor_app_id
        self.changelog = K.changelog_topic(self.app_id)
        self.exactly_once = settings.processing_guarantee == "exactly_once"
        self.interval_s = settings.commit_interval_ms / 1000
        self.owned: set[tuple[str, int]] = set()  # theme topic partitions
        self.tasks: set[int] = set()  # partition numbers (all theme topics: the range assignor co-partitions)
        self.ready = threading.Event()  # set once the loop polls (tests and health checks)
        self.store: StateStore | None = None
        self.lag = LagGauge(self.app_id)
        self._refused: KafkaError | None = None  # an authorization error from a client's error_cb

    # -- set-up -----------------------------------------------------------------------

    def _open(self) -> None:
        settings = self.settings
        self.process_id = clients.process_id(settings.processor_data_dir)
        instance = f"{self.app_id}-{self.process_id}"
        self.store = StateStore(settings.processor_data_dir)
        clients.ensure_compacted_topics(settings, [self.changelog], self.partitions)
        self.pipeline.warm()
        if self.keys_topic is not None:
            self._open_keyring(self.keys_topic)
        self.consumer = clients.consumer(settings, group_id=self.app_id, instance_id=instance,
                                         error_cb=self._kafka_error)
        self.restorer = clients.restore_consumer(settings, group_id=f"{instance}-restore")
        self.watermarks = clients.restore_consumer(settings, group_id=f"{instance}-restore", isolation="read_uncommitted")
        extra = {} if self.exactly_once else {"on_delivery": self._delivery_error}
        self.producer = clients.producer(settings, transactional_id=instance if self.exactly_once else None,
                                         error_cb=self._kafka_error, **extra)
        if self.exactly_once:
            # Fences (and aborts what was left open by) an earlier incarnation with this id.
            try:
                self.producer.init_transactions(settings.request_timeout_s * 3)
            except KafkaException as exc:
                raise connectivity.explain(settings, exc) from exc
        self.checkpointer = Checkpointer(
            producer=self.producer,
            consumer=self.consumer,
            store=self.store,
            pipeline=self.pipeline,
            changelog=self.changelog,
            exactly_once=self.exactly_once,
            dedupe_window=settings.dedupe_window,
            timeout_s=settings.request_timeout_s * 3,
        )
        if self.audit_topic is not None:
            self.checkpointer.audit = open_audit_log(self.producer, self.audit_topic, self.store.db.get,
                                                     self.pipeline.centre_key, settings.request_timeout_s)

    def _delivery_error(self, err: Any, msg: Any) -> None:
        if connectivity.is_authorization(err):
            self._refused = err
        self.checkpointer.on_delivery_error(err, msg)

    def _kafka_error(self, err: KafkaError) -> None:
        # Runs inside consume/poll/flush of this thread; the loop raises it (librdkafka would retry forever).
        if connectivity.is_authorization(err):
            self._refused = err

    def _authorization_lost(self, err: KafkaError) -> Exception:
        return connectivity.connection_error(self.settings, connectivity.Problem.AUTHORIZATION, err.str(),
                                             code=err.name())

    # -- rebalance callbacks (run inside consume(), in this thread) --------------------

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        started = time.monotonic()
        new = sorted({tp.partition for tp in partitions} - self.tasks)
        restored = restore_tasks(self.store, self.restorer, new, self.changelog, self.settings.request_timeout_s,
                                 self.watermarks)
        metrics.RESTORED_RECORDS.inc(restored)
        for partition in new:
            self.store.task(partition)
            self.tasks.add(partition)
        self.owned.update((tp.topic, tp.partition) for tp in partitions)
        for tp in consumer.committed(partitions, timeout=self.settings.request_timeout_s):
            self.checkpointer.committed[(tp.topic, tp.partition)] = tp.offset if tp.offset >= 0 else -2
        log.info("assigned %d partition(s); restored %d changelog record(s) in %.2fs",
                 len(partitions), restored, time.monotonic() - started)

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        # The interval so far includes the revoked partitions' records: commit it before they go.
        self._commit()
        self._drop(partitions)
        log.info("revoked %d partition(s)", len(partitions))

    def _on_lost(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        log.warning("lost %d partition(s): the interval is aborted", len(partitions))
        self._rewind(self.checkpointer.abort(), skip={(tp.topic, tp.partition) for tp in partitions})
        self._drop(partitions)
        self.checkpointer.begin()

    def _drop(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.owned.discard((tp.topic, tp.partition))
            self.checkpointer.committed.pop((tp.topic, tp.partition), None)
        for partition in self.tasks - {p for _, p in self.owned}:
            self.tasks.discard(partition)
            self.store.drop_task(partition)

    # -- observability ----------------------------------------------------------------

    def gauge_rows(self) -> list[tuple[str, Any]]:
        """The committed integration-index rows of the tasks this worker owns (for the gauges)."""
        return [row for p in list(self.tasks) for row in self.store.task(p).view_rows("integration_index|")]

    def _publish_lag(self) -> None:
        """Records not yet consumed, per topic (a failed read sets NaN and counts: see :class:`LagGauge`)."""
        self.lag.publish(self.consumer, self.owned)

    # -- the loop ---------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set; a lost authorization raises :class:`~bus.kafka.KafkaAuthorizationError`."""
        connectivity.outages.enable()  # a lost broker is logged once, and its return once
        try:
            self._run(stop)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and connectivity.is_authorization(err):
                raise self._authorization_lost(err) from exc
            raise
        except BaseException:
            raise
        except:  # noqa: E722 - see below
            # confluent-kafka re-raises an error met inside a rebalance callback (a refused watermark
            # read) as the bare KafkaError object, which is no BaseException: only a bare except
            # catches it, and uncaught it would end this thread silently and leave the worker running.
            err = sys.exc_info()[1]
            if isinstance(err, KafkaError) and connectivity.is_authorization(err):
                raise self._authorization_lost(err) from None
            raise EngineKafkaError(f"the stream loop failed: {err}", code=getattr(err, "name", lambda: None)()) from None

    def _run(self, stop: threading.Event) -> None:
        self._open()
        consumer = self.consumer
        consumer.subscribe(self.source_topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        self.checkpointer.begin()
        self.ready.set()
        pipeline = self.pipeline
        next_commit = time.monotonic() + self.interval_s
        next_gauges = time.monotonic() + LAG_INTERVAL_S
        try:
            while not stop.is_set():
                wait = max(0.0, min(next_commit - time.monotonic(), 0.5))
                msgs = consumer.consume(MAX_POLL_RECORDS, wait)
                if self._refused is not None:
                    raise self._authorization_lost(self._refused)
                if msgs:
                    connectivity.outages.up(self.settings)
                    self._run_records(pipeline, msgs)
                if time.monotonic() >= next_commit:
                    # What librdkafka fetched meanwhile joins this interval (at most DRAIN_RECORDS): under
                    # load, intervals grow with the backlog instead of one poll per slow commit.
                    drained = 0
                    while drained < DRAIN_RECORDS:
                        msgs = consumer.consume(MAX_POLL_RECORDS, 0)
                        if not msgs:
                            break
                        drained += len(msgs)
                        self._run_records(pipeline, msgs)
                    # The interval runs from one commit's start to the next: a commit slower than the
                    # interval is followed at once by the next, not by a further wait.
                    next_commit = time.monotonic() + self.interval_s
                    self._commit()
                    if next_commit >= next_gauges:
                        self._publish_lag()
                        next_gauges = next_commit + LAG_INTERVAL_S
                    if self.keyring is not None and self.keyring.refresh_due():
                        self._refresh_keys()
            self._commit()
        finally:
            self._close()

    def _open_keyring(self, topic: str) -> None:
        """Read the whole key register before the first record, and verify against it from then on."""
        ring = FollowingKeyRing.open(self.settings, topic)
        ring.refresh(self.settings.request_timeout_s * 3)
        if not ring.caught_up:
            ring.close()
            raise EngineKafkaError(f"the key register {topic} was not read to its end in time: nothing could be "
                                   "verified", topic=topic)
        log.info("key register %s: %d key(s)", topic, len(ring))
        self.keyring = ring
        self.pipeline.verifier = Verifier(ring.lookup, lambda: self._refresh_keys(1.0))

    def _refresh_keys(self, timeout: float = 0.5) -> None:
        """Rotations and revocations reach the verifier within the ring's interval; a slow broker only delays them."""
        try:
            self.keyring.refresh(timeout)  # type: ignore[union-attr]
        except KeyRegisterError as exc:
            if str(exc.fields.get("code", "")).endswith("AUTHORIZATION_FAILED"):
                raise
            log.warning("key register not refreshed (%s); the next interval tries again", exc)

    def _run_records(self, pipeline: Pipeline, msgs: list[Any]) -> None:
        by_task: dict[tuple[str, int], list[Any]] = defaultdict(list)
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if connectivity.is_authorization(err):
                    raise self._authorization_lost(err)
                # A fatal consumer error arrives as a message error with code _FATAL, whose fatal()
                # is false (e.g. "Static consumer fenced by other consumer with same
                # group.instance.id" after a coordinator moved): the consumer is dead from then on,
                # so the loop must end (the pod restarts the worker) rather than idle forever.
                if err.fatal() or err.code() == KafkaError._FATAL:
                    raise EngineKafkaError(f"consumer: {err.str()}")
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer: %s", err.str())
                continue
            by_task[(msg.topic(), msg.partition())].append(msg)
        now = time.time()
        store = self.store
        for (topic, partition), records in by_task.items():
            if (topic, partition) not in self.owned:
                continue  # fetched before a revocation
            result = pipeline.process(topic, partition, records, store.task(partition), now)
            if self.checkpointer.audit is not None:
                self.checkpointer.audit.add(topic, partition, records)
            self.checkpointer.track(topic, partition, records[-1].offset() + 1, result)

    def _commit(self) -> None:
        for attempt in range(_COMMIT_RETRIES):
            try:
                self.checkpointer.commit()
                return
            except KafkaException as exc:
                err = exc.args[0]
                if connectivity.is_authorization(err) or self._refused is not None:
                    raise self._authorization_lost(err if connectivity.is_authorization(err) else self._refused) from exc
                if err.fatal() or err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH):
                    raise FencedError(f"fenced by a newer instance: {err.str()}") from exc
                if err.retriable() and not err.txn_requires_abort() and attempt + 1 < _COMMIT_RETRIES:
                    log.warning("commit failed (%s), retrying", err.str())
                    continue
                log.warning("commit failed (%s): aborting the interval and reading it again", err.str())
            except EngineKafkaError as exc:
                if self._refused is not None:  # a delivery report said why
                    raise self._authorization_lost(self._refused) from exc
                log.warning("commit failed (%s): reading the interval again", exc)
            self._rewind(self.checkpointer.abort())
            self.checkpointer.begin()
            return

    def _rewind(self, positions: dict[tuple[str, int], int], skip: set[tuple[str, int]] = frozenset()) -> None:
        for (topic, partition), offset in positions.items():
            if (topic, partition) in skip or (topic, partition) not in self.owned:
                continue
            try:
                self.consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:
                raise EngineKafkaError(f"cannot rewind {topic}[{partition}] to {offset}: {exc}") from exc

    def _close(self) -> None:
        for closing in (lambda: self.consumer.close(), lambda: self.restorer.close(), lambda: self.watermarks.close(),
                        lambda: self.producer.flush(5), lambda: self.keyring and self.keyring.close()):
            try:
                closing()
            except Exception as exc:  # closing is best effort; the broker fences what is left
                log.warning("closing: %s", exc)
        if self.store is not None:
            self.store.close()
