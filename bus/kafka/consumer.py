"""Consumer wrapper that yields decoded records with their key and headers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message

from bus.kafka.exceptions import BrokerUnavailableError, ConsumeError, ConsumeTimeoutError

ValueDecoder = Callable[[bytes | None, str], Any]


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """One record as read from Kafka, value already decoded."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: Any
    headers: dict[str, bytes | None] = field(default_factory=dict)
    timestamp_ms: int | None = None
    raw_value: bytes | None = None


class EgovConsumer:
    """A confluent-kafka ``Consumer`` that decodes values with ``value_decoder``.

    Offsets are committed explicitly (``commit``) so that a caller commits
    only what it has finished with. Every blocking call is bounded by a
    timeout; when all brokers are down the next poll raises
    :class:`BrokerUnavailableError` instead of waiting forever.
    """

    def __init__(
        self,
        settings: Any,
        group_id: str,
        topics: Sequence[str],
        value_decoder: ValueDecoder | None = None,
        *,
        auto_offset_reset: str = "earliest",
        **overrides: Any,
    ) -> None:
        self._settings = settings
        self._decoder = value_decoder
        self._all_brokers_down: KafkaError | None = None
        conf = settings.librdkafka_config(
            **{
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": auto_offset_reset,
                "isolation.level": "read_committed",
                "error_cb": self._on_error,
                "logger": logging.getLogger("egov.kafka.consumer"),
            }
        )
        conf.update(overrides)
        self._consumer = Consumer(conf)
        self._check_metadata()
        self._consumer.subscribe(list(topics))

    def _on_error(self, err: KafkaError) -> None:
        if err.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            self._all_brokers_down = err

    def _check_metadata(self) -> None:
        timeout = self._settings.request_timeout_s
        try:
            self._consumer.list_topics(timeout=timeout)
        except KafkaException as exc:
            self._consumer.close()
            raise BrokerUnavailableError(
                f"no broker at {self._settings.bootstrap_servers} answered within {timeout}s: {exc}",
                bootstrap_servers=self._settings.bootstrap_servers,
            ) from exc

    @property
    def raw(self) -> Consumer:
        return self._consumer

    def _decode(self, msg: Message) -> ConsumedRecord:
        key = msg.key()
        raw = msg.value()
        value = self._decoder(raw, msg.topic()) if self._decoder else raw
        headers = dict(msg.headers() or ())
        ts_type, ts = msg.timestamp()
        return ConsumedRecord(
            topic=msg.topic(),
            partition=msg.partition(),
            offset=msg.offset(),
            key=key.decode() if isinstance(key, bytes) else key,
            value=value,
            headers=headers,
            timestamp_ms=ts if ts_type else None,
            raw_value=raw,
        )

    def poll(self, timeout: float = 1.0) -> ConsumedRecord | None:
        """One record, or ``None`` if none arrived within ``timeout``."""
        msg = self._consumer.poll(timeout)
        if msg is None:
            if self._all_brokers_down is not None:
                err, self._all_brokers_down = self._all_brokers_down, None
                raise BrokerUnavailableError(f"lost every broker: {err.str()}", code=err.name())
            return None
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                return None
            raise ConsumeError(f"consumer error on {msg.topic()}: {err.str()}", code=err.name(), topic=msg.topic())
        self._all_brokers_down = None
        return self._decode(msg)

    def records(self, count: int, timeout: float) -> Iterator[ConsumedRecord]:
        """Yield exactly ``count`` records or raise :class:`ConsumeTimeoutError`."""
        deadline = time.monotonic() + timeout
        seen = 0
        while seen < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConsumeTimeoutError(
                    f"got {seen} of {count} records within {timeout}s", received=seen, expected=count
                )
            record = self.poll(min(left, 1.0))
            if record is not None:
                seen += 1
                yield record

    def commit(self, record: ConsumedRecord | None = None) -> None:
        """Commit synchronously: up to ``record`` (inclusive) or everything consumed."""
        try:
            if record is None:
                self._consumer.commit(asynchronous=False)
            else:
                from confluent_kafka import TopicPartition

                self._consumer.commit(
                    offsets=[TopicPartition(record.topic, record.partition, record.offset + 1)], asynchronous=False
                )
        except KafkaException as exc:
            err = exc.args[0]
            if isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET:
                return
            raise ConsumeError(f"commit failed: {exc}") from exc

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> "EgovConsumer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
