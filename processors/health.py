"""Periodic gauges of a worker: consumer lag and the integration index by province."""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from processors import metrics
from processors.views.aggregates import INTEGRATION_INDEX

log = logging.getLogger("egov.processors.health")

# A region that published on a theme before and has been quiet for this long counts as silent.
SILENCE_THRESHOLD_S = 24 * 3600


def integration_gauges(rows: Iterable[tuple[str, Any]], now_s: float | None = None) -> dict[tuple[str, str], tuple[int, int]]:
    """``(province, theme) -> (publishing, silent)`` from integration-index state rows."""
    now_ms = (now_s if now_s is not None else time.time()) * 1000
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    prefix = f"{INTEGRATION_INDEX}|"
    for key, state in rows:
        if not key.startswith(prefix) or state is None:
            continue
        region, _, theme = key[len(prefix) :].partition("|")
        fresh = now_ms - state["last_seen_ms"] <= SILENCE_THRESHOLD_S * 1000
        counts[(region.split(".")[0], theme)][0 if fresh else 1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def publish_integration_gauges(rows: Iterable[tuple[str, Any]]) -> None:
    """Set the gauges from this worker's rows; label sets it no longer holds (after a rebalance) go."""
    values = integration_gauges(rows)
    metrics.REGIONS_PUBLISHING.clear()
    metrics.SILENT_REGIONS.clear()
    for (province, theme), (publishing, silent) in values.items():
        metrics.REGIONS_PUBLISHING.labels(province, theme).set(publishing)
        metrics.SILENT_REGIONS.labels(province, theme).set(silent)


class LagGauge:
    """``egov_consumer_lag_records`` of one worker, per topic: records not yet consumed.

    Read from the consumer's positions and librdkafka's cached watermarks (no
    broker call). An alert must never watch a stale value: when a read fails,
    the topics it could not read are set to NaN (Prometheus: no value, so
    ``> threshold`` is false and an absent-or-NaN alert can fire) and the failure
    counts in ``egov_processor_lag_read_failures_total``; a topic none of whose
    partitions has been fetched yet is NaN too (unknown, not 0), without counting;
    a topic the worker no longer owns loses its series. A streak of failures is logged once, at its
    start, and once when a read succeeds again.
    """

    def __init__(self, group: str) -> None:
        self.group = group
        self.failures_in_streak = 0
        self._topics: set[str] = set()

    def publish(self, consumer: Any, owned: Iterable[tuple[str, int]]) -> None:
        """Set the gauge for the ``(topic, partition)`` pairs this worker owns."""
        owned = list(owned)
        topics = {topic for topic, _ in owned}
        for gone in self._topics - topics:
            metrics.CONSUMER_LAG.remove(self.group, gone)
        self._topics = topics
        lag: dict[str, int] = defaultdict(int)
        unread: dict[str, str] = {}
        try:
            positions = consumer.position([TopicPartition(t, p) for t, p in owned])
        except KafkaException as exc:
            self._failed(dict.fromkeys(topics, f"positions: {exc}"))
            return
        for tp in positions:
            try:
                _low, high = consumer.get_watermark_offsets(tp, cached=True)
            except KafkaException as exc:
                unread.setdefault(tp.topic, f"watermarks of {tp.topic}[{tp.partition}]: {exc}")
                continue
            # A partition not fetched yet has no position or no cached end: nothing to count yet.
            if high >= 0 and tp.offset >= 0:
                lag[tp.topic] += max(0, high - tp.offset)
        for topic in topics - unread.keys():
            # No partition of the topic fetched yet: its lag is unknown, not 0 (and not a failure).
            metrics.CONSUMER_LAG.labels(self.group, topic).set(lag.get(topic, math.nan))
        if unread:
            self._failed(unread)
        elif self.failures_in_streak:
            log.info("consumer lag read again after %d failed read(s)", self.failures_in_streak)
            self.failures_in_streak = 0

    def _failed(self, unread: dict[str, str]) -> None:
        for topic in unread:
            metrics.CONSUMER_LAG.labels(self.group, topic).set(math.nan)
        metrics.LAG_READ_FAILURES.labels(self.group).inc()
        if not self.failures_in_streak:
            first = next(iter(unread.values()), "no partitions")
            log.warning("consumer lag unreadable for %s (%s): the gauge is NaN until a read succeeds",
                        ", ".join(sorted(unread)), first)
        self.failures_in_streak += 1
