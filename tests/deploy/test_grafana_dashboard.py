"""deploy/grafana/egov-bus.json: valid JSON, known metrics only, PromQL that parses, a sane layout."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.deploy.promql import METRICS, TARGET_LABELS, base_metric, label_names, series_names
from tests.fixtures.tools import run_tool

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "egov-bus.json"

#: What issue 6 asks the dashboard to show, by the metric that carries it.
REQUIRED_METRICS = {
    "egov_gateway_events_accepted_total",  # throughput by theme
    "egov_processor_events_processed_total",
    "egov_consumer_lag_records",  # lag
    "egov_e2e_latency_seconds",  # latency p50/p99
    "egov_dlq_events_total",  # DLQ rate
    "egov_spool_depth_events",  # spool
    "egov_spool_oldest_age_seconds",
    "egov_integration_regions_publishing",  # integration index
}

# Grafana variables replaced by something PromQL accepts, for the syntax check.
_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def _queries(dashboard: dict) -> list[tuple[str, str]]:
    """(panel title, expr) of every panel query and every query variable."""
    found = [(p["title"], t["expr"]) for p in _panels(dashboard) for t in p.get("targets", []) if t.get("expr")]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", var["definition"])
            assert match, f"variable {var['name']}: unexpected query {var['definition']!r}"
            found.append((f"variable {var['name']}", match.group(1)))
    return found


def _promql(expr: str) -> str:
    for variable, value in _VARIABLES.items():
        expr = expr.replace(variable, value)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)  # $theme, ${province} inside regex matchers


def test_dashboard_is_valid_json_with_a_stable_identity():
    dashboard = _dashboard()
    assert dashboard["uid"] == "egov-bus"
    assert dashboard["title"] == "egov-bus"
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [p["id"] for p in _panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_every_query_uses_known_metrics_and_labels():
    dashboard = _dashboard()
    queries = _queries(dashboard)
    assert queries
    used: set[str] = set()
    for title, expr in queries:
        names = series_names(_promql(expr))
        assert names, f"{title}: no metric in {expr!r}"
        allowed = set(TARGET_LABELS | {"le"})
        for name in names:
            metric = base_metric(name)
            assert metric, f"panel {title!r} queries {name!r}, which no egov-bus component exposes"
            used.add(metric)
            allowed |= METRICS[metric][1]
        unknown = label_names(_promql(expr)) - allowed
        assert not unknown, f"panel {title!r} uses labels {sorted(unknown)} that its metrics do not have"
    assert REQUIRED_METRICS <= used, f"dashboard lacks {sorted(REQUIRED_METRICS - used)}"


def test_latency_panels_use_histogram_quantile_p50_and_p99():
    exprs = [expr for _, expr in _queries(_dashboard()) if "egov_e2e_latency_seconds" in expr]
    assert any(e.startswith("histogram_quantile(0.50") for e in exprs)
    assert any(e.startswith("histogram_quantile(0.99") for e in exprs)
    assert all("_bucket" in e and "le" in e for e in exprs)


def test_panels_do_not_overlap():
    occupied: dict[tuple[int, int], str] = {}
    for panel in _panels(_dashboard()):
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, f"{panel['title']} is wider than the grid"
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in occupied, f"{panel['title']!r} overlaps {occupied[(x, y)]!r}"
                occupied[(x, y)] = panel["title"]


def test_every_panel_uses_the_datasource_variable():
    for panel in _panels(_dashboard()):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]


@pytest.mark.tools
def test_every_query_parses_as_promql(promtool_bin, tmp_path):
    """promtool parses each query (as a recording rule), so a typo in a panel fails here."""
    rules = [
        {"record": f"dashboard:query_{i}", "expr": _promql(expr)}
        for i, (_, expr) in enumerate(_queries(_dashboard()))
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run_tool([promtool_bin, "check", "rules", path])
    assert result.returncode == 0, result.explain()
