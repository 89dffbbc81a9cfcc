"""The spool forwarder: replays the SQLite spool through its own producer, oldest first.

One :meth:`SpoolForwarder.forward` call sends one batch and waits for its
reports. A record leaves the spool when the broker acknowledged it, or when
the broker refuses it for good (settled: it could never be sent and would hold
its region up forever; counted and logged loudly). Everything else stays,
under its sequence number, for the next batch.

A lost link does not purge the batch: librdkafka's idempotent producer retries
the records in flight under the same producer id and sequence numbers, so a
record the broker wrote before the link dropped (its acknowledgement lost) is
not written again when the link returns within the delivery timeout. A purged
record could not be told apart from one never sent, and sending it again from
the spool would write it twice. Only ``stop`` (the publisher closing) purges:
those records stay spooled, and the next run sends them again.

Its producer is separate from the publisher's direct one, so settling the
direct path (purging it, waiting for its queue to empty) never touches a
batch in flight, and is created on first use (a publisher that never spools
never opens a second connection).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from confluent_kafka import KafkaError, KafkaException

from adapters.metrics import ACKED, FAILED, PUBLISHED
from adapters.sdk.delivery import retriable
from adapters.spool import Spool, SpoolRecord
from schemas.cloudevents import HEADER_ID, header_text

log = logging.getLogger("egov.adapters.publisher")

#: ``factory(error_cb) -> producer``: a confluent-kafka ``Producer`` (or a fake of one).
ProducerFactory = Callable[[Callable[[KafkaError], None]], Any]


class ForwardResult(NamedTuple):
    """One batch: how many records were acknowledged and settled out of how many, and why it stopped."""

    acked: int
    settled: int
    batch: int
    reason: str | None = None  # None: every record left the spool

    @property
    def complete(self) -> bool:
        """Every record of the batch left the spool."""
        return self.reason is None


class SpoolForwarder:
    """Sends the oldest ``batch`` records of ``spool`` per :meth:`forward` call.

    Its producer's error callback is ``on_error`` (default :meth:`on_error`,
    which notes a lost link for the batch's log line: nothing is purged).
    """

    def __init__(self, spool: Spool, producer_factory: ProducerFactory, *, batch: int = 1000,
                 metadata_timeout_s: float = 2.0, delivery_timeout_s: float = 300.0,
                 on_error: Callable[[KafkaError], None] | None = None) -> None:
        self.spool = spool
        self._factory = producer_factory
        self._on_error = on_error or self.on_error
        self._producer: Any = None
        self._batch = batch
        self._metadata_timeout_s = metadata_timeout_s
        # A batch waits at most this long for its reports (librdkafka fails each record by then).
        self._report_timeout_s = delivery_timeout_s + 5
        self._link_lost = threading.Event()

    @property
    def producer(self) -> Any:
        """The forwarder's producer (created on first use)."""
        if self._producer is None:
            self._producer = self._factory(self._on_error)
        return self._producer

    def on_error(self, err: KafkaError) -> None:
        """The producer's error callback: every broker gone is noted for the batch in flight.

        The batch keeps waiting for its reports: each record is acknowledged once the
        link is back, or fails at the delivery timeout and stays spooled.
        """
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._link_lost.set()

    def forward(self, stop: threading.Event | None = None) -> ForwardResult:
        """Send one batch and wait for its reports; delete what left the spool."""
        batch = self.spool.peek(self._batch)
        if not batch:
            return ForwardResult(0, 0, 0)
        raw = self.producer
        try:
            # Ask for the batch's topics by name: this also refreshes librdkafka's view of a topic
            # it had cached as missing (created since), instead of waiting for the next refresh.
            for topic in dict.fromkeys(record.topic for record in batch):
                metadata = raw.list_topics(topic=topic, timeout=self._metadata_timeout_s)
                if metadata.topics[topic].error is not None:
                    raise KafkaException(metadata.topics[topic].error)
        except KafkaException as exc:
            log.info("spool drain waits: %s", exc)
            return ForwardResult(0, 0, len(batch), f"probe: {exc}")
        self._link_lost.clear()
        acked: list[int] = []
        settled: list[int] = []  # leave the spool although not acknowledged (refused for good)
        failed: list[str] = []
        for record in batch:
            callback = functools.partial(self._report, record, acked, settled, failed)
            while True:
                try:
                    raw.produce(record.topic, record.value, record.key, -1, callback, None, 0, record.headers)
                    break
                except BufferError:
                    raw.poll(0.05)
                except KafkaException as exc:
                    failed.append(str(exc))
                    break
            if failed:
                break
        # Wait for the reports; only stop purges (a lost link leaves the retries to librdkafka).
        deadline = time.monotonic() + self._report_timeout_s
        interrupted = False
        while len(raw) > 0 and time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                interrupted = True
                raw.purge(in_queue=True, in_flight=True, blocking=True)
            raw.flush(0.5)
        self.spool.delete([*acked, *settled])
        if self._link_lost.is_set():
            log.info("the link was lost during a spool drain; its records were retried, not purged "
                     "(%d of %d acknowledged)", len(acked), len(batch))
        if failed or len(acked) + len(settled) < len(batch):
            if interrupted:
                reason = "interrupted"
            elif failed:
                reason = failed[-1]
            else:
                reason = f"no report within {self._report_timeout_s:.0f}s"
            log.warning("spool drain stopped after %d of %d records: %s", len(acked), len(batch), reason)
            return ForwardResult(len(acked), len(settled), len(batch), reason)
        log.info("sent %d spooled events; %d left", len(acked), self.spool.depth)
        return ForwardResult(len(acked), len(settled), len(batch))

    def _report(self, record: SpoolRecord, acked: list[int], settled: list[int], failed: list[str],
                err: KafkaError | None, _msg: Any) -> None:
        counters = _theme_counters(record.theme)
        if err is None:
            acked.append(record.seq)
            counters[0].inc()
            return
        if not retriable(err):
            # Can never be sent: keep the region moving, but say so loudly.
            settled.append(record.seq)
            counters[1].inc()
            log.error("spooled event %s removed from the spool, the broker refuses it for good: %s",
                      header_text(record.headers, HEADER_ID), err.str())
            return
        failed.append(f"{err.name()}: {err.str()}")

    def close(self) -> None:
        """Drop what the producer still holds: those records were never deleted from the spool."""
        if self._producer is not None:
            self._producer.purge(in_queue=True, in_flight=True, blocking=True)
            self._producer.flush(1.0)


@functools.lru_cache(maxsize=64)
def _theme_counters(theme: str) -> tuple[Any, Any]:
    return PUBLISHED.labels(theme, ACKED), PUBLISHED.labels(theme, FAILED)
