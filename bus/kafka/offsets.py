"""Where topics begin and end: the one reader of watermarks (start and end offsets).

Both ``egov-bus status`` and the views API's dead-letter counts use it; a
group's committed offsets are read here too (:func:`committed`). A span
(end minus start) is an upper bound of the records a topic holds: the
processors write in transactions, and each commit or abort marker takes an
offset too. Only a span of 0 is exact; counting needs Read on the topic
(``egov-bus status`` counts small DLQs record by record; the views API may
only Describe them, so it shows the bound).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

#: ``(topic, partition)`` -> offset
Offsets = dict[tuple[str, int], int]


def watermarks(admin: AdminClient, partitions: Mapping[str, Sequence[int]], timeout: float) -> tuple[Offsets, Offsets]:
    """``(start, end)`` offsets of every listed partition, with two ListOffsets requests (needs Describe)."""
    tps = [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
    if not tps:
        return {}, {}
    result = []
    for spec in (OffsetSpec.earliest(), OffsetSpec.latest()):
        futures = admin.list_offsets({tp: spec for tp in tps}, request_timeout=timeout)
        result.append({(tp.topic, tp.partition): f.result(timeout=timeout).offset for tp, f in futures.items()})
    return result[0], result[1]


def spans(partitions: Mapping[str, Sequence[int]], start: Offsets, end: Offsets) -> dict[str, int]:
    """Per topic, end minus start summed over its partitions: at most the records it holds (see the module doc)."""
    return {t: sum(max(0, end[(t, p)] - start[(t, p)]) for p in ps) for t, ps in partitions.items()}


def committed(settings: Any, group: str, partitions: Mapping[str, Sequence[int]], timeout: float) -> Offsets:
    """The consumer group's committed offset of every listed partition (-1: none committed yet).

    Read by a consumer of ``group`` that never joins it (``committed()``, one OffsetFetch), not with
    ``AdminClient.list_consumer_group_offsets``: in librdkafka 2.16 that admin call takes the whole
    process down when the group's coordinator moves or is not yet known (SIGSEGV on NOT_COORDINATOR,
    confluentinc/librdkafka#5040; an abort, #4605), which is exactly when an operator asks (a broker
    failover). Raises ``KafkaException`` (e.g. a coordinator still loading: retriable).
    """
    tps = [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
    if not tps:
        return {}
    consumer = Consumer(settings.librdkafka_config(**{"group.id": group, "enable.auto.commit": False}))
    try:
        return {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(tps, timeout=timeout)}
    finally:
        consumer.close()
