"""What the dashboard shows about the bus itself: each view's freshness and the dead letters per theme.

Freshness comes from the view store (the broker timestamp of the last row each
view topic got); a view is *stale* when that is older than
``EGOV_VIEWS_STALE_AFTER_S``. DLQ depth is what sits in ``egov.<theme>.dlq``:
the sum over its partitions of end offset minus start offset, read with
``get_watermark_offsets`` (no consumer group, nothing committed) and kept for a
few seconds so a page refreshing every few seconds does not ask the broker each time.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from schemas.event_types import THEMES
from schemas.topic_names import dlq_topic

log = logging.getLogger("egov.views.health")

# How long one reading of the DLQ depths is served again: the page polls every 3 s, the broker needn't.
DLQ_CACHE_S = 10.0


def _iso(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def freshness(updated: dict[str, float | None], *, now: float, stale_after_s: float) -> list[dict[str, Any]]:
    """One entry per view: ``updated_at`` (ISO), ``age_s`` and ``stale`` (never updated counts as stale)."""
    out = []
    for view, at in updated.items():
        age = None if at is None else max(0.0, round(now - at, 3))
        out.append({"view": view, "updated_at": _iso(at), "age_s": age, "stale": age is None or age > stale_after_s})
    return out


class DlqDepth:
    """Dead letters per theme, from the DLQ topics' watermarks (cached for :data:`DLQ_CACHE_S`)."""

    def __init__(self, settings: Any, *, prefix: str | None = None, clock=time.monotonic) -> None:
        self._settings = settings
        self.topics = {theme: dlq_topic(theme, prefix) for theme in THEMES}
        self._clock = clock
        self._lock = threading.Lock()
        self._consumer: Consumer | None = None
        self._cached: tuple[float, dict[str, Any]] | None = None

    def read(self) -> dict[str, Any]:
        """``{"themes": {theme: depth | None}, "error": str | None}``; ``None``: the topic is missing or unreadable."""
        with self._lock:
            if self._cached is not None and self._clock() - self._cached[0] < DLQ_CACHE_S:
                return self._cached[1]
            result = self._read()
            self._cached = (self._clock(), result)
            return result

    def close(self) -> None:
        """Close the consumer used for the watermarks (if one was opened)."""
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None

    def _read(self) -> dict[str, Any]:
        # Short bound: a page waits on this answer, and a down broker must not hold it for long.
        timeout = min(3.0, float(self._settings.request_timeout_s))
        if self._consumer is None:
            self._consumer = Consumer(self._settings.librdkafka_config(
                **{"group.id": f"egov-views-api-dlq-{uuid.uuid4().hex}", "enable.auto.commit": False}))
        depths: dict[str, int | None] = {}
        error = None
        try:
            listed = self._consumer.list_topics(timeout=timeout).topics
            for theme, topic in self.topics.items():
                md = listed.get(topic)
                if md is None or md.error is not None:
                    depths[theme] = None
                    continue
                total = 0
                for p in md.partitions:
                    low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
                    total += max(0, high - low)
                depths[theme] = total
        except KafkaException as exc:
            # Shown as "unknown" on the page; the reason once per reading, not per theme.
            error = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
            log.info("DLQ depths not readable: %s", error)
            depths = {theme: depths.get(theme) for theme in self.topics}
        return {"themes": depths, "error": error, "read_at": _iso(time.time())}
