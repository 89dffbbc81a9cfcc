"""The bulk histogram exposes what prometheus_client's Histogram exposes for the same observations."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from processors.bulk_histogram import BulkHistogram

BUCKETS = (0.01, 0.1, 1, 2.5, 60)
VALUES = [0.0, 0.01, 0.0100001, 0.5, 1.0, 2.5, 7.0, 61.0, 86400.0]


def test_same_exposition_as_prometheus_client_histogram() -> None:
    reference, ours = CollectorRegistry(), CollectorRegistry()
    hist = Histogram("egov_x_seconds", "doc", ["theme", "since"], buckets=BUCKETS, registry=reference)
    bulk = BulkHistogram("egov_x_seconds", "doc", ["theme", "since"], buckets=BUCKETS, registry=ours)
    for v in VALUES:
        hist.labels("budgeting", "occurred_at").observe(v)
    bulk.observe_many(("budgeting", "occurred_at"), VALUES[:4])
    bulk.observe_many(("budgeting", "occurred_at"), VALUES[4:])

    def series(registry: CollectorRegistry) -> list[str]:
        return sorted(line for line in generate_latest(registry).decode().splitlines()
                      if line.startswith("egov_x_seconds") and "_created" not in line)

    assert series(ours) == series(reference)
