"""Idempotent, acks=all producer with confirmed delivery."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from bus.kafka.exceptions import BrokerUnavailableError, DeliveryError, DeliveryTimeoutError

Headers = Sequence[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]


class EgovProducer:
    """A confluent-kafka ``Producer`` with the bus's delivery guarantees.

    ``enable.idempotence`` and ``acks=all`` are always on; a record either
    gets a broker acknowledgement or a typed :class:`DeliveryError` within
    ``settings.delivery_timeout_s``. ``produce`` is asynchronous; ``flush``
    waits and raises for every record that failed since the last flush.
    """

    def __init__(self, settings: Any, **overrides: Any) -> None:
        self._settings = settings
        conf = settings.librdkafka_config(
            **{
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
                "delivery.timeout.ms": int(settings.delivery_timeout_s * 1000),
                "error_cb": self._on_error,
                # librdkafka's own log lines go through Python logging, not raw stderr.
                "logger": logging.getLogger("egov.kafka.producer"),
            }
        )
        conf.update(overrides)
        # librdkafka requires request.timeout.ms <= delivery.timeout.ms.
        conf.setdefault("request.timeout.ms", min(30000, int(conf["delivery.timeout.ms"])))
        self._producer = Producer(conf)
        self._failures: list[DeliveryError] = []
        self._lock = threading.Lock()
        self._fatal: KafkaError | None = None

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            return
        cls = DeliveryTimeoutError if err.code() == KafkaError._MSG_TIMED_OUT else DeliveryError
        failure = cls(
            f"record to {msg.topic()} (key {msg.key()!r}) not acknowledged: {err.str()}",
            topic=msg.topic(),
            key=msg.key(),
            code=err.name(),
            retriable=err.retriable() or err.code() == KafkaError._MSG_TIMED_OUT,
        )
        with self._lock:
            self._failures.append(failure)

    @property
    def raw(self) -> Producer:
        """The underlying confluent-kafka producer, for callers that need more."""
        return self._producer

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: str | bytes | None = None,
        headers: Headers | None = None,
        on_delivery: Any = None,
        timestamp_ms: int | None = None,
    ) -> None:
        """Queue one record; waits (bounded) for room when the local queue is full."""
        if self._fatal is not None:
            raise DeliveryError(f"producer is in a fatal state: {self._fatal.str()}", code=self._fatal.name())
        callback = on_delivery or self._on_delivery
        kwargs: dict[str, Any] = {"key": key, "value": value, "on_delivery": callback}
        if headers:
            kwargs["headers"] = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        if timestamp_ms is not None:
            kwargs["timestamp"] = timestamp_ms
        deadline = time.monotonic() + self._settings.request_timeout_s
        while True:
            try:
                self._producer.produce(topic, **kwargs)
                break
            except BufferError:
                if time.monotonic() > deadline:
                    raise DeliveryTimeoutError(
                        f"local producer queue stayed full for {self._settings.request_timeout_s}s",
                        topic=topic,
                        retriable=True,
                    ) from None
                self._producer.poll(0.05)
            except KafkaException as exc:
                raise DeliveryError(f"produce to {topic} refused: {exc}", topic=topic) from exc
        self._producer.poll(0)

    def poll(self, timeout: float = 0) -> int:
        """Serve delivery callbacks."""
        return self._producer.poll(timeout)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every queued record is acknowledged or failed.

        Raises the first :class:`DeliveryError` (with ``count`` of failures)
        if any record failed, or :class:`DeliveryTimeoutError` if records are
        still in flight when ``timeout`` (default: the delivery timeout plus
        a margin) runs out.
        """
        if timeout is None:
            timeout = self._settings.delivery_timeout_s + 5
        remaining = self._producer.flush(timeout)
        with self._lock:
            failures, self._failures = self._failures, []
        if failures:
            first = failures[0]
            first.fields["count"] = len(failures)
            raise first
        if remaining:
            raise DeliveryTimeoutError(
                f"{remaining} record(s) still unacknowledged after {timeout}s", in_flight=remaining, retriable=True
            )

    def check_connection(self, timeout: float | None = None) -> None:
        """Raise :class:`BrokerUnavailableError` unless a broker answers a metadata request."""
        timeout = timeout or self._settings.request_timeout_s
        try:
            self._producer.list_topics(timeout=timeout)
        except KafkaException as exc:
            raise BrokerUnavailableError(
                f"no broker at {self._settings.bootstrap_servers} answered within {timeout}s: {exc}",
                bootstrap_servers=self._settings.bootstrap_servers,
            ) from exc

    def close(self, timeout: float | None = None) -> None:
        """Flush and release the producer."""
        self.flush(timeout)
