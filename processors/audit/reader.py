"""Reading the audit log and theme topic partitions to their end (read_committed, assigned, never committed)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from confluent_kafka import KafkaError, TopicPartition

from processors.audit.exceptions import AuditError
from processors.kafka import clients

#: Past this without progress, a partition that does not reach its end is an error.
STALL_S = 30.0


class TopicReader:
    """One consumer for an audit run: reads whole partitions or offset ranges."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.consumer = clients.restore_consumer(settings, group_id=f"{settings.processor_app_id}-audit-{uuid.uuid4().hex[:8]}")

    def close(self) -> None:
        self.consumer.close()

    def __enter__(self) -> "TopicReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def partitions(self, topic: str) -> list[int]:
        """The topic's partitions; :class:`AuditError` when it does not exist or cannot be described."""
        found = self.consumer.list_topics(topic, timeout=self.settings.request_timeout_s).topics.get(topic)
        if found is None or found.error is not None:
            why = found.error.str() if found is not None and found.error is not None else "no such topic"
            raise AuditError(f"cannot read {topic}: {why}", topic=topic)
        return sorted(found.partitions)

    def bounds(self, topic: str, partition: int) -> tuple[int, int]:
        """``(log start, end)`` of a partition."""
        return self.consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                   timeout=self.settings.request_timeout_s)

    def read(self, topic: str, partition: int, start: int = 0, stop: int | None = None) -> Iterator[Any]:
        """Committed records of ``topic[partition]`` with ``start <= offset < stop`` (default: its committed end)."""
        low, high = self.bounds(topic, partition)
        end = high if stop is None else min(stop, high)
        begin = max(start, low)
        if begin >= end:
            return
        self.consumer.assign([TopicPartition(topic, partition, begin)])
        last_progress = time.monotonic()
        try:
            position = begin
            while position < end:
                msgs = self.consumer.consume(1000, 0.2)
                for msg in msgs:
                    err = msg.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            # read_committed: the end of what is committed (a running worker's open
                            # transaction is not waited for).
                            return
                        raise AuditError(f"reading {topic}[{partition}]: {err.str()}", topic=topic)
                    if msg.offset() >= end:
                        break
                    yield msg
                # Transaction markers take offsets: the position says how far the reader is.
                position = max(position, self.consumer.position([TopicPartition(topic, partition)])[0].offset)
                if msgs:
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > STALL_S:
                    raise AuditError(f"reading {topic}[{partition}] stalled at {position} of {end}", topic=topic)
        finally:
            self.consumer.unassign()
