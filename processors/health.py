"""Periodic gauges of a worker: consumer lag and the integration index by province."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from processors import metrics
from processors.views.aggregates import INTEGRATION_INDEX

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


async def publish_consumer_lag(consumer: Any, group: str) -> None:
    """Lag of the partitions this worker owns, summed per topic."""
    lag: dict[str, int] = defaultdict(int)
    for tp in consumer.assignment():
        try:
            high = consumer.highwater(tp)
            position = await consumer.position(tp)
        except Exception:  # a partition being revoked: skip this round
            continue
        if high is not None and position is not None:
            lag[tp.topic] += max(0, high - position)
    for topic, value in lag.items():
        metrics.CONSUMER_LAG.labels(group, topic).set(value)
