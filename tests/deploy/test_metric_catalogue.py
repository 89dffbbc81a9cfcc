"""The metrics the components register match the catalogue the dashboard and alert rules are checked against.

The dashboard and rules tests accept only names in ``tests.deploy.promql.METRICS``;
this test closes the loop from the other side: every ``egov_*`` metric a
component module registers is in that catalogue, with no label outside it.
"""

from __future__ import annotations

import importlib

import pytest
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from tests.deploy.promql import METRICS

#: Modules that define the components' metrics (those not written yet are skipped).
METRIC_MODULES = ("adapters.metrics", "processors.metrics", "bus.metrics")


def _exposed() -> dict[str, set[str]]:
    loaded = []
    for name in METRIC_MODULES:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    if not loaded:
        pytest.skip(f"none of {METRIC_MODULES} exists yet")
    found: dict[str, set[str]] = {}
    # The registry keeps its collectors privately; tests may look.
    for collector in list(REGISTRY._collector_to_names):
        if isinstance(collector, MetricWrapperBase):
            suffix = "_total" if collector._type == "counter" else ""
            found.setdefault(collector._name + suffix, set()).update(collector._labelnames)
            continue
        for family in collector.collect():
            suffix = "_total" if family.type == "counter" else ""
            labels = found.setdefault(family.name + suffix, set())
            for sample in family.samples:
                labels.update(k for k in sample.labels if k != "le")
    return {name: labels for name, labels in found.items() if name.startswith("egov_")}


def test_registered_metrics_are_in_the_catalogue():
    exposed = _exposed()
    assert exposed, "the metric modules registered no egov_* metric"
    unknown = sorted(set(exposed) - set(METRICS))
    assert not unknown, f"metrics missing from tests/deploy/promql.py METRICS (and so from dashboard checks): {unknown}"
    for name, labels in exposed.items():
        extra = labels - METRICS[name][1]
        assert not extra, f"{name} has labels {sorted(extra)} outside the catalogue {sorted(METRICS[name][1])}"
