"""Faust-streaming, adapted for a batched hot path. Only faust internals live here.

What we keep from Faust: the worker, consumer-group membership and its
partition assignor (co-partitioned tables), changelogged tables with their
recovery, exactly-once transactions (one transactional producer per
partition, offsets committed in the same transaction) and offset tracking.

What we change, and why (measured on faust-streaming 0.15.3 / aiokafka 0.14,
evidence in docs/central.md):

* **Batch dispatch.** Faust hands every record to the stream through an
  asyncio queue, with two ``wait_first`` task pairs per record: ~80 us per
  event, an 11,000 events/s ceiling on the development machine, and
  ``stream.take()`` does not change it (it batches *after* that hand-off).
  :class:`BatchConsumer` passes each fetched record batch of the source
  topics to one coroutine instead and acknowledges the offsets afterwards;
  records of every other topic (table changelogs during recovery) still take
  Faust's own per-record path.
* **Highwater under exactly-once.** In a transaction Faust asks aiokafka for
  ``last_stable_offset(tp)``, a value cached from the last fetch response, so a
  changelog partition not fetched since the last assignment reports ``None``
  (read as highwater ``-1``). Recovery then either raises ``ConsistencyError``
  ("persisted offset ... is higher than ... highwater (8 > -1)") or skips the
  changelog. :class:`EosSafeConsumerThread` asks the broker (ListOffsets with
  ``read_committed``, i.e. the last stable offset) instead.
* **Partitioner.** Faust's producers default to Java's murmur2; every other
  producer of the bus is librdkafka, whose default is CRC32 of the key. A
  re-keyed record (legacy region code) must land in the partition where that
  region's other events are, so Faust uses :func:`librdkafka_partitioner`.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

log = logging.getLogger("egov.processors.engine")

#: How long a stopping fetcher lets the batch in hand finish (well inside the session timeout).
SHUTDOWN_BATCH_TIMEOUT_S = 10.0

#: ``handler(batch)``: ``batch`` is a list of ``(tp, records)`` with aiokafka ``ConsumerRecord``s.
BatchHandler = Callable[[list[tuple[Any, Sequence[Any]]]], Awaitable[None]]


def librdkafka_partitioner(key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
    """librdkafka's default (``consistent_random``): CRC32 of the key modulo the partition count."""
    if key is None:
        import random

        return random.choice(available or all_partitions)
    return all_partitions[zlib.crc32(key) % len(all_partitions)]


class EosSafeConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Highwaters from the broker also inside transactions (see the module doc)."""

    async def _highwaters(self, partitions: list[Any]) -> Any:
        consumer = self._ensure_consumer()
        # end_offsets honours the consumer's isolation level: read_committed -> last stable offset.
        return await consumer.end_offsets(partitions)


class _InFlight:
    """Stands for a batch being processed in Faust's set of unacknowledged messages,
    so that a rebalance waits (``Consumer.wait_empty``) until the batch is done."""

    __slots__ = ("acked", "refcount", "__weakref__")

    def __init__(self) -> None:
        self.acked = False
        self.refcount = 1


class BatchConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with a batched path for the source topics."""

    def _new_consumer_thread(self) -> EosSafeConsumerThread:
        return EosSafeConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - exercised by worker tests
        app = self.app
        handler: BatchHandler = app.egov_batch_handler  # type: ignore[attr-defined]
        batch_topics: frozenset[str] = app.egov_batch_topics  # type: ignore[attr-defined]
        callback = self.callback
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        read_offset = self._read_offset
        to_message = self._to_message
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                records, active = await self._wait_next_records(1.0)
                await self.sleep(0)
                if not records or self.should_stop:
                    continue
                if not self.flow_active:
                    try:
                        await self.perform_seek()
                    except Exception as exc:
                        self.log.warning(f"exception performing seek when flow not active {exc}")
                    continue
                generation = app.consumer_generation_id
                batch: list[tuple[Any, Sequence[Any]]] = []
                for tp, recs in records.items():
                    if active is not None and tp not in active and tp not in self._buffered_partitions:
                        continue
                    if tp.topic not in batch_topics:
                        # Table changelogs (recovery, standbys): Faust's own per-record path.
                        for record in recs:
                            if app.consumer_generation_id != generation or not self.flow_active:
                                break
                            r_offset = read_offset[tp]
                            if r_offset is None or record.offset >= r_offset:
                                await self.wait_first(callback(to_message(tp, record)), self.suspend_flow.wait())
                                read_offset[tp] = record.offset
                        continue
                    r_offset = read_offset[tp]
                    if r_offset is not None:
                        recs = [r for r in recs if r.offset >= r_offset]
                    if recs:
                        if r_offset and recs[0].offset - r_offset > 1:
                            # Offsets taken by transaction markers or compaction: Faust's gap bookkeeping.
                            await self._add_gap(tp, r_offset + 1, recs[0].offset)
                        batch.append((tp, recs))
                # Checked again after the awaits above: a rebalance that began meanwhile has
                # already waited for in-flight batches, so this one must not start.
                if not batch or app.consumer_generation_id != generation or not self.flow_active:
                    continue
                marker = _InFlight()
                self._unacked_messages.add(marker)  # type: ignore[arg-type]
                task = asyncio.ensure_future(handler(batch))
                try:
                    # Shielded: stopping the fetcher (rebalance, recovery, shutdown) must not cut
                    # a batch in half; the batch finishes and is acknowledged first.
                    await asyncio.shield(task)
                except asyncio.CancelledError:
                    await asyncio.wait([task], timeout=SHUTDOWN_BATCH_TIMEOUT_S)
                    if task.done() and not task.cancelled() and task.exception() is None:
                        self._ack_batch(batch)
                    raise
                finally:
                    marker.acked = True
                    self._unacked_messages.discard(marker)  # type: ignore[arg-type]
                self._ack_batch(batch)
                if self._commit_every is not None and self._n_acked >= self._commit_every:
                    self._n_acked = 0
                    await self.commit()
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise

    def _ack_batch(self, batch: list[tuple[Any, Sequence[Any]]]) -> None:
        """Mark the batch's offsets acknowledged, as ``Consumer.ack`` does per message."""
        for tp, recs in batch:
            committed = self._committed_offset[tp]
            offsets = [r.offset for r in recs if committed is None or r.offset >= committed]
            index = self._acked_index[tp]
            fresh = [o for o in offsets if o not in index]
            if fresh:
                index.update(fresh)
                self._acked[tp].extend(fresh)
                self._n_acked += len(fresh)
            self._read_offset[tp] = recs[-1].offset
        waiter = self._waiting_for_ack
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class ParallelCommitProducer(faust_aiokafka.Producer):
    """Commits the per-partition transactions concurrently.

    Faust commits them one after another, each ``send_offsets_to_transaction``
    + ``commit_transaction`` a few broker round trips: with a dozen source
    partitions that made every exactly-once commit cycle take seconds and the
    view rows (read_committed) lag behind by as much (bench/e2e.py).
    """

    async def commit_transactions(
        self, tid_to_offset_map: Any, group_id: str, start_new_transaction: bool = True
    ) -> None:
        async def commit_one(transactional_id: str, offsets: Any) -> None:
            async with self._trn_locks[transactional_id]:
                producer = self._transaction_producers.get(transactional_id)
                if producer is None:
                    log.warning("commit invoked for unknown transaction %s", transactional_id)
                    return
                await producer.send_offsets_to_transaction(offsets, group_id)
                await producer.commit_transaction()
                if start_new_transaction:
                    await producer.begin_transaction()

        await asyncio.gather(*(commit_one(tid, offsets) for tid, offsets in tid_to_offset_map.items()))


class BatchTransport(faust_aiokafka.Transport):
    Consumer = BatchConsumer
    Producer = ParallelCommitProducer


class BatchApp(faust.App):
    """A Faust app whose source topics are processed in batches by ``egov_batch_handler``."""

    egov_batch_topics: frozenset[str] = frozenset()
    egov_batch_handler: BatchHandler | None = None

    def _new_transport(self) -> BatchTransport:
        return BatchTransport(self.conf.broker_consumer, self)

    def subscribe_batches(self, topic: Any, handler: BatchHandler) -> None:
        """Consume ``topic`` (a Faust topic, possibly of several names) through ``handler``."""
        self.egov_batch_topics = frozenset(topic.topics)
        self.egov_batch_handler = handler
        self.topics.add(topic)
