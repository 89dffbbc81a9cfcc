"""Fakes of a broker, a confluent-kafka producer and a failing schema registry, for broker-free unit tests.

:class:`FakeProducer` behaves like librdkafka where the publisher relies on it:
``produce`` queues, reports (and error callbacks) are served only by
``poll``/``flush``, ``len()`` counts records until their report was served,
``purge`` fails what is queued with ``_PURGE_QUEUE``, and with
``delivery.report.only.error`` a success calls nothing. What the broker does
with a record is :class:`FakeBroker`'s decision, set by the test: up (ack),
down (the record stays in flight), or a refusal for a topic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException


class FakeMessage:
    """What a delivery report carries (no headers: librdkafka does not return them)."""

    def __init__(self, topic: str, key: bytes | None, value: bytes, headers: Any, timestamp_ms: int) -> None:
        self._topic, self._key, self._value, self.sent_headers = topic, key, value, headers
        self._timestamp_ms = timestamp_ms

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes:
        return self._value

    def timestamp(self) -> tuple[int, int]:
        return (1, self._timestamp_ms)


@dataclass
class FakeBroker:
    """The broker the fake producers talk to: ``up``, topics it refuses, what it acknowledged."""

    up: bool = True
    refuse: dict[str, int] = field(default_factory=dict)  # topic -> KafkaError code of a per-record refusal
    missing: set[str] = field(default_factory=set)  # topics whose metadata says "unknown topic"
    acked: list[tuple[str, bytes | None, bytes, Any]] = field(default_factory=list)
    producers: list["FakeProducer"] = field(default_factory=list)
    #: ``after_produce(producer, count)`` after every produce of every producer (a test's trigger)
    after_produce: Callable[["FakeProducer", int], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def go_down(self, report: bool = True) -> None:
        """Records stay in flight; with ``report`` every producer reports ``_ALL_BROKERS_DOWN`` at its next poll."""
        self.up = False
        if report:
            for producer in self.producers:
                producer.raise_error(KafkaError(KafkaError._ALL_BROKERS_DOWN))

    def come_back(self) -> None:
        self.up = True
        for producer in self.producers:
            producer.wake()

    def values(self) -> list[bytes]:
        with self.lock:
            return [value for _topic, _key, value, _headers in self.acked]

    def factory(self) -> Callable[..., "FakeProducer"]:
        """A ``producer_factory`` for :class:`~adapters.sdk.Publisher`: ``(error_cb, **config)``."""

        def make(error_cb: Callable[[KafkaError], None], **config: Any) -> FakeProducer:
            producer = FakeProducer(self, error_cb, config)
            self.producers.append(producer)
            return producer

        return make


class FakeProducer:
    """A thread-safe stand-in for ``confluent_kafka.Producer`` (positional ``produce`` as the SDK calls it)."""

    def __init__(self, broker: FakeBroker, error_cb: Callable[[KafkaError], None] | None = None,
                 config: dict[str, Any] | None = None) -> None:
        config = config or {}
        self.broker = broker
        self.error_cb = error_cb
        self.only_errors = bool(config.get("delivery.report.only.error", False))
        self.default_callback = config.get("on_delivery")
        self.queue_limit = 100_000
        self.ignore_purge = False  # records stay in flight through a purge (reports that come late)
        self.produce_error: KafkaException | None = None  # the next produce() raises this
        self.after_produce: Callable[[int], None] | None = None  # called with the count after each produce
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # something to transmit or serve
        self._serving = 0
        self._in_flight: list[tuple[FakeMessage, Any]] = []
        self._reports: list[tuple[Any, KafkaError | None, FakeMessage]] = []
        self._errors: list[KafkaError] = []
        self.produced = 0
        self.purges = 0

    # -- the producer API the SDK uses ----------------------------------------------------------

    def produce(self, topic: str, value: bytes, key: bytes | None = None, partition: int = -1,
                callback: Any = None, on_delivery: Any = None, timestamp: int = 0, headers: Any = None) -> None:
        with self._lock:
            if self.produce_error is not None:
                error, self.produce_error = self.produce_error, None
                raise error
            if len(self) >= self.queue_limit:
                raise BufferError("Local: Queue full")
            self._in_flight.append((FakeMessage(topic, key, value, headers, timestamp or 1_700_000_000_000),
                                    callback or on_delivery or self.default_callback))
            self.produced += 1
            self._changed.notify_all()
        if self.after_produce is not None:
            self.after_produce(self.produced)
        if self.broker.after_produce is not None:
            self.broker.after_produce(self, self.produced)

    def __len__(self) -> int:
        with self._lock:
            return len(self._in_flight) + len(self._reports) + self._serving

    def poll(self, timeout: float = 0) -> int:
        self._transmit()
        served = self._serve()
        if served or timeout <= 0:
            return served
        with self._lock:  # nothing to serve: wait (bounded) for something to happen, like librdkafka
            if not self._reports and not self._errors and not (self.broker.up and self._in_flight):
                self._changed.wait(timeout)
        self._transmit()
        return self._serve()

    def flush(self, timeout: float = 0) -> int:
        deadline = time.monotonic() + timeout
        while True:
            self._transmit()
            self._serve()
            with self._lock:
                left = deadline - time.monotonic()
                if len(self) == 0 or left <= 0:
                    return len(self)
                if not self._reports and not self._errors and not (self.broker.up and self._in_flight):
                    self._changed.wait(left)

    def wake(self) -> None:
        with self._lock:
            self._changed.notify_all()

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        with self._lock:
            self.purges += 1
            if self.ignore_purge:
                return
            code = KafkaError._PURGE_QUEUE
            self._reports += [(callback, KafkaError(code), msg) for msg, callback in self._in_flight]
            self._in_flight = []
            self._changed.notify_all()

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        if not self.broker.up:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT, "broker down"))
        error = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART) if topic in self.broker.missing else None
        return _Metadata({topic: _TopicMetadata(error)} if topic else {})

    # -- test controls ----------------------------------------------------------------------------

    def raise_error(self, err: KafkaError) -> None:
        """An error event for ``error_cb``, served at the next poll/flush like librdkafka's."""
        with self._lock:
            self._errors.append(err)
            self._changed.notify_all()

    def fail_in_flight(self, code: int = KafkaError._MSG_TIMED_OUT, first: int | None = None) -> None:
        """Every record in flight (or the ``first`` n, oldest first, as timeouts come) fails with ``code``
        (reported at the next poll/flush)."""
        with self._lock:
            count = len(self._in_flight) if first is None else first
            failing, self._in_flight = self._in_flight[:count], self._in_flight[count:]
            self._reports += [(callback, KafkaError(code), msg) for msg, callback in failing]
            self._changed.notify_all()

    def in_flight_values(self) -> list[bytes]:
        with self._lock:
            return [msg.value() for msg, _callback in self._in_flight]

    # -- internals ----------------------------------------------------------------------------------

    def _transmit(self) -> None:
        # The broker's answer to every record in flight: ack, refusal, or (down) nothing yet.
        with self._lock:
            if not self.broker.up:
                return
            for msg, callback in self._in_flight:
                code = self.broker.refuse.get(msg.topic())
                if code is None:
                    with self.broker.lock:
                        self.broker.acked.append((msg.topic(), msg.key(), msg.value(), msg.sent_headers))
                    self._reports.append((callback, None, msg))
                else:
                    self._reports.append((callback, KafkaError(code), msg))
            self._in_flight = []

    def _serve(self) -> int:
        # Callbacks run outside the producer's lock (they may call back into it), in report order;
        # each record counts in len() until its report was served, as in librdkafka.
        with self._lock:
            errors, self._errors = self._errors, []
        for err in errors:
            if self.error_cb is not None:
                self.error_cb(err)
        served = 0
        while True:
            with self._lock:
                if not self._reports:
                    return served
                callback, err, msg = self._reports.pop(0)
                self._serving += 1
            try:
                if callback is not None and not (err is None and self.only_errors):
                    callback(err, msg)
            finally:
                with self._lock:
                    self._serving -= 1
            served += 1


class _TopicMetadata:
    def __init__(self, error: KafkaError | None) -> None:
        self.error = error


class _Metadata:
    def __init__(self, topics: dict[str, _TopicMetadata]) -> None:
        self.topics = topics


class FailingRegistry:
    """A schema registry that answers every call with ``error`` (confluent-kafka's mock client never fails)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def register_schema(self, subject: str, schema: Any) -> int:
        raise self.error

    def lookup_schema(self, subject: str, schema: Any) -> Any:
        raise self.error
