"""Where topics begin and end: the one reader of watermarks (start and end offsets).

Both ``egov-bus status`` and the views API's dead-letter counts use it; a
group's committed offsets are read here too (:class:`GroupOffsets`). A span
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


class GroupOffsets:
    """Reads one consumer group's committed offsets, as often as asked, with one consumer of the group
    that never joins it (``committed()``: one OffsetFetch per call, no rebalance).

    Not ``AdminClient.list_consumer_group_offsets``: in librdkafka 2.16 that admin call takes the whole
    process down when the group's coordinator moves or is not yet known (SIGSEGV on NOT_COORDINATOR,
    confluentinc/librdkafka#5040; an abort, #4605), which is exactly when an operator asks (a broker
    failover). Keep one for a polling loop; :func:`committed` is the one-shot form.
    """

    def __init__(self, settings: Any, group: str) -> None:
        self.group = group
        self._consumer = Consumer(settings.librdkafka_config(**{"group.id": group, "enable.auto.commit": False}))

    def committed(self, partitions: Mapping[str, Sequence[int]], timeout: float) -> Offsets:
        """The committed offset of every listed partition (-1: none committed yet).

        Raises ``KafkaException`` (e.g. a coordinator still loading: retriable).
        """
        tps = [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
        if not tps:
            return {}
        return {(tp.topic, tp.partition): tp.offset for tp in self._consumer.committed(tps, timeout=timeout)}

    def close(self) -> None:
        """Release the consumer (it never joined, so nothing is revoked)."""
        self._consumer.close()


def committed(settings: Any, group: str, partitions: Mapping[str, Sequence[int]], timeout: float) -> Offsets:
    """The consumer group's committed offset of every listed partition (-1: none), read once
    (:class:`GroupOffsets`)."""
    if not any(partitions.values()):
        return {}
    reader = GroupOffsets(settings, group)
    try:
        return reader.committed(partitions, timeout)
    finally:
        reader.close()
