"""deploy/prometheus/rules.yml: promtool checks it and runs its unit tests; a broken rule fails."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.deploy.promql import METRICS, TARGET_LABELS, base_metric, label_names, series_names
from tests.fixtures.tools import run_tool

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
RULES_TEST = ROOT / "deploy" / "prometheus" / "rules.test.yml"

#: The alerts issue 6 asks for, plus the two spool/registry/gateway extras.
REQUIRED_ALERTS = {
    "EgovConsumerLagGrowing",
    "EgovDlqRateHigh",
    "EgovRegionSilentOnTheme",
    "EgovE2eLatencyP99High",
    "EgovSpoolNotDraining",
}


def _rules() -> list[dict]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _alerts() -> list[dict]:
    return [r for r in _rules() if "alert" in r]


def _copy_rules(tmp_path: Path, text: str) -> Path:
    """rules.yml replaced by ``text``, beside an unchanged copy of the unit tests."""
    (tmp_path / "rules.yml").write_text(text)
    shutil.copy(RULES_TEST, tmp_path / "rules.test.yml")
    return tmp_path / "rules.test.yml"


def test_promtool_check_rules(promtool_bin):
    result = run_tool([promtool_bin, "check", "rules", RULES])
    assert result.returncode == 0, result.explain()
    assert f"SUCCESS: {len(_rules())} rules found" in result.output


def test_promtool_unit_tests_pass(promtool_bin):
    result = run_tool([promtool_bin, "test", "rules", RULES_TEST], cwd=RULES_TEST.parent)
    assert result.returncode == 0, result.explain()
    assert "SUCCESS" in result.output


def test_required_alerts_exist_with_severity_and_text():
    alerts = {a["alert"]: a for a in _alerts()}
    assert REQUIRED_ALERTS <= alerts.keys()
    for name, alert in alerts.items():
        assert alert["labels"]["severity"] in {"warning", "critical"}, name
        assert alert["annotations"].get("summary") and alert["annotations"].get("description"), name
        assert alert.get("for"), f"{name} has no `for`: it would page on a single scrape"


def test_every_alert_has_firing_and_quiet_unit_tests():
    tests = yaml.safe_load(RULES_TEST.read_text())["tests"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for group in tests:
        for case in group.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {a["alert"] for a in _alerts()}
    assert names - firing == set(), f"alerts without a firing test: {sorted(names - firing)}"
    assert names - quiet == set(), f"alerts without a not-firing test: {sorted(names - quiet)}"


def test_rules_query_only_known_metrics_and_labels():
    recorded = {r["record"] for r in _rules() if "record" in r}
    for rule in _rules():
        name = rule.get("alert") or rule.get("record")
        allowed = set(TARGET_LABELS | {"le"})
        for series in series_names(rule["expr"]):
            if series in recorded:
                continue
            metric = base_metric(series)
            assert metric, f"{name} queries {series!r}, which no egov-bus component exposes"
            allowed |= METRICS[metric][1]
        unknown = label_names(rule["expr"]) - allowed
        assert not unknown, f"{name} uses labels {sorted(unknown)} that its metrics do not have"


@pytest.mark.parametrize("alert", sorted(a["alert"] for a in _alerts()))
def test_a_broken_alert_fails_the_unit_tests(alert, promtool_bin, tmp_path):
    """An alert whose expression never fires must make `promtool test rules` fail."""
    doc = yaml.safe_load(RULES.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = "vector(0) > 1"
    test_file = _copy_rules(tmp_path, yaml.safe_dump(doc, sort_keys=False))
    result = run_tool([promtool_bin, "test", "rules", test_file], cwd=tmp_path)
    assert result.returncode != 0, f"unit tests still pass with {alert} disabled:\n{result.explain()}"
    assert f"alertname: {alert}" in result.output, result.explain()


def test_a_syntax_error_fails_promtool(promtool_bin, tmp_path):
    text = RULES.read_text()
    broken = re.sub(r"rate\(egov_dlq_events_total\[5m\]\)\) > 0\.05", "rate(egov_dlq_events_total[5m]) > 0.05", text)
    assert broken != text
    test_file = _copy_rules(tmp_path, broken)
    check = run_tool([promtool_bin, "check", "rules", tmp_path / "rules.yml"])
    assert check.returncode != 0, check.explain()
    run = run_tool([promtool_bin, "test", "rules", test_file], cwd=tmp_path)
    assert run.returncode != 0, run.explain()
