"""What the dashboard shows about the bus itself: each view's freshness and the dead letters per theme.

Freshness comes from the view store (the broker timestamp of the last row each
view topic got); a view is *stale* when that is older than
``EGOV_VIEWS_STALE_AFTER_S``. DLQ depth is what sits in ``egov.<theme>.dlq``:
the span of its offsets (:mod:`bus.kafka.offsets`, the reader ``egov-bus
status`` uses too), kept for a few seconds so a page refreshing every few
seconds does not ask the broker each time. A span counts transaction markers
too, so it is an upper bound (``upper_bound``: the page shows "≤ N"); the
views API may only Describe the DLQ topics, never read a dead letter, so it
cannot count them one by one as ``egov-bus status`` does.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from bus.kafka.offsets import spans, watermarks
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
    """Dead letters per theme, at most: the DLQ topics' offset spans (cached for :data:`DLQ_CACHE_S`)."""

    def __init__(self, settings: Any, *, prefix: str | None = None, clock=time.monotonic) -> None:
        self._settings = settings
        self.topics = {theme: dlq_topic(theme, prefix) for theme in THEMES}
        self._clock = clock
        self._lock = threading.Lock()
        self._admin: AdminClient | None = None
        self._cached: tuple[float, dict[str, Any]] | None = None

    def read(self) -> dict[str, Any]:
        """``{"themes": {theme: depth | None}, "upper_bound": True, "error", "read_at"}``; ``None``: the
        topic is missing or unreadable. A depth above 0 may count transaction markers (see the module doc)."""
        with self._lock:
            if self._cached is not None and self._clock() - self._cached[0] < DLQ_CACHE_S:
                return self._cached[1]
            result = self._read()
            self._cached = (self._clock(), result)
            return result

    def close(self) -> None:
        """Drop the admin client used for the watermarks (if one was made)."""
        with self._lock:
            self._admin = None

    def _read(self) -> dict[str, Any]:
        # Short bound: a page waits on this answer, and a down broker must not hold it for long.
        timeout = min(3.0, float(self._settings.request_timeout_s))
        if self._admin is None:
            self._admin = AdminClient(self._settings.librdkafka_config())
        depths: dict[str, int | None] = {theme: None for theme in self.topics}
        error = None
        try:
            listed = self._admin.list_topics(timeout=timeout).topics
            partitions = {topic: sorted(listed[topic].partitions) for topic in self.topics.values()
                          if topic in listed and listed[topic].error is None}
            start, end = watermarks(self._admin, partitions, timeout)
            by_topic = spans(partitions, start, end)
            depths = {theme: by_topic.get(topic) for theme, topic in self.topics.items()}
        except KafkaException as exc:
            # Shown as "unknown" on the page; the reason once per reading, not per theme.
            error = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
            log.info("DLQ depths not readable: %s", error)
        return {"themes": depths, "upper_bound": True, "error": error, "read_at": _iso(time.time())}
