"""Prometheus metrics of the regional side.

Labels are bounded on purpose (theme, reason, outcome): never a region code,
an event id or a free-text error, which would explode the series count.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

GATEWAY_ACCEPTED = Counter(
    "egov_gateway_events_accepted_total",
    "Events the ingest gateway accepted (acknowledged by the broker or durably spooled)",
    ["theme"],
)
GATEWAY_REJECTED = Counter(
    "egov_gateway_events_rejected_total",
    "Events the ingest gateway refused, by reason (unauthorized, forbidden, invalid, too_large, unavailable, "
    "overloaded, rate_limited)",
    ["theme", "reason"],
)
#: Ingest requests being handled now (the Helm HPA scales on it). ``livesum``: with several worker
#: processes (prometheus-client multiprocess mode) the live processes' values add up.
GATEWAY_REQUESTS_IN_FLIGHT = Gauge(
    "egov_gateway_requests_in_flight",
    "Ingest requests the gateway is handling now (received, not answered yet)",
    multiprocess_mode="livesum",
)
PUBLISHED = Counter(
    "egov_publisher_events_published_total",
    "Events handed to the publisher SDK, by outcome (acked, spooled, failed)",
    ["theme", "outcome"],
)
OUTBOX_RELAYED = Counter(
    "egov_outbox_rows_relayed_total",
    "Outbox rows the relay handled, by outcome (sent, invalid, failed)",
    ["outcome"],
)
REGISTRY_ERRORS = Counter(
    "egov_registry_errors_total",
    "Schema registry calls that failed, by operation (register, lookup)",
    ["operation"],
)

#: The publisher's outcome label values.
ACKED, SPOOLED, FAILED = "acked", "spooled", "failed"


class _SpoolCollector(Collector):
    """Spool gauges computed at scrape time over every open spool of the process."""

    def __init__(self) -> None:
        self._spools: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._lock = threading.Lock()

    def track(self, spool: Any) -> None:
        with self._lock:
            self._spools.add(spool)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            spools = [s for s in self._spools if not s.closed]
        depth = GaugeMetricFamily("egov_spool_depth_events", "Events waiting in the store-and-forward spool")
        age = GaugeMetricFamily(
            "egov_spool_oldest_age_seconds", "Age of the oldest event waiting in the spool (0 when empty)"
        )
        limit = GaugeMetricFamily("egov_spool_limit_events", "Configured limit of the spool, in events")
        depth.add_metric([], float(sum(s.depth for s in spools)))
        age.add_metric([], max((s.oldest_age_s() for s in spools), default=0.0))
        limit.add_metric([], float(max((s.max_events for s in spools), default=0)))
        yield depth
        yield age
        yield limit


SPOOLS = _SpoolCollector()
REGISTRY.register(SPOOLS)

#: Set by the gateway's supervisor (``--workers N``) for its workers: the directory where each
#: process keeps its metric values, so that any worker's /metrics answers for all of them.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# In multiprocess mode the scrape reads the workers' files, not their collectors: the spool figures
# are also written as gauges there (not registered in REGISTRY, where SPOOLS has these names).
_SPOOL_GAUGES = {
    "depth": Gauge("egov_spool_depth_events", "Events waiting in the store-and-forward spool",
                   multiprocess_mode="livesum", registry=None),
    "age": Gauge("egov_spool_oldest_age_seconds", "Age of the oldest event waiting in the spool (0 when empty)",
                 multiprocess_mode="livemax", registry=None),
    "limit": Gauge("egov_spool_limit_events", "Configured limit of the spool, in events",
                   multiprocess_mode="livemax", registry=None),
}


def multiprocess_dir() -> str | None:
    """The prometheus-client multiprocess directory of this process, or ``None`` (one process)."""
    return os.environ.get(MULTIPROC_ENV) or None


def record_spool_gauges() -> None:
    """Multiprocess mode: write this process's spool figures where every worker's scrape reads them.

    The workers call it every second and the scraping worker just before it answers, so another
    worker's spool figures are at most about a second old.
    """
    for family in SPOOLS.collect():
        key = {"egov_spool_depth_events": "depth", "egov_spool_oldest_age_seconds": "age"}.get(family.name, "limit")
        _SPOOL_GAUGES[key].set(family.samples[0].value)


def scrape_registry() -> CollectorRegistry:
    """What ``/metrics`` serves: this process's registry, or in multiprocess mode every worker's
    values aggregated (counters summed, including those of exited workers; gauges by their mode)."""
    if multiprocess_dir() is None:
        return REGISTRY
    record_spool_gauges()
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry
