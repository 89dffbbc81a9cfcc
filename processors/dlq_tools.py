"""Reading and replaying dead letters (``egov-bus dlq inspect|replay``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from bus.kafka import EgovProducer
from processors.dlq import strip_error_headers


@dataclass
class DeadLetter:
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key == name:
                return value.decode(errors="replace") if value is not None else ""
        return ""


def read_dead_letters(settings, topic: str, timeout: float = 10.0) -> Iterator[DeadLetter]:
    """Every record of a DLQ topic up to its end when called."""
    consumer = Consumer(
        settings.librdkafka_config(**{"group.id": f"egov-dlq-{uuid.uuid4().hex}", "enable.auto.commit": False})
    )
    try:
        md = consumer.list_topics(topic, timeout=settings.request_timeout_s).topics.get(topic)
        if md is None or md.error is not None:
            from processors.exceptions import ProcessorError

            raise ProcessorError(f"no topic {topic}", topic=topic)
        ends = {}
        for p in md.partitions:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=settings.request_timeout_s)
            if high > 0:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        remaining = set(ends)
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                for p in list(remaining):
                    if consumer.position([TopicPartition(topic, p)])[0].offset >= ends[p]:
                        remaining.discard(p)
                continue
            if msg.offset() >= ends[msg.partition()]:
                continue
            key = msg.key()
            yield DeadLetter(msg.partition(), msg.offset(), key.decode(errors="replace") if key else None, msg.value(), list(msg.headers() or []))
            if msg.offset() + 1 >= ends[msg.partition()]:
                remaining.discard(msg.partition())
    finally:
        consumer.close()


def replay(settings, letters: list[DeadLetter]) -> int:
    """Send dead letters back to their original topics with their original headers."""
    producer = EgovProducer(settings)
    for letter in letters:
        producer.produce(letter.header("original.topic"), letter.value, key=letter.key, headers=strip_error_headers(letter.headers))
    producer.flush()
    return len(letters)
