"""Unit tests: routing rules as data."""

from __future__ import annotations

import pytest

from processors.exceptions import RoutingRulesError
from processors.routing import destinations, load_rules


def test_shipped_rules_province_and_ministry_feeds() -> None:
    rules = load_rules()
    assert destinations(rules, "budgeting", "BudgetAllocated", "32.01") == [
        "egov.province.32.events",
        "egov.ministry.finance.events",
    ]
    assert destinations(rules, "complaints", "ComplaintReceived", "32") == [
        "egov.province.32.events",
        "egov.ministry.panrb.events",
    ]
    assert destinations(rules, "licensing", "PermitIssued", "94.04") == ["egov.province.94.events"]


def test_every_shipped_destination_is_in_the_catalogue() -> None:
    from schemas import EVENT_TYPES, regions
    from topics.catalog import load_catalog

    names = {t.name for t in load_catalog().topics}
    rules = load_rules()
    for region in regions.all_regions():
        for et in EVENT_TYPES.values():
            for topic in destinations(rules, et.theme, et.name, region.code):
                assert topic in names, topic


def test_region_prefix_and_event_type_conditions(tmp_path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "rules:\n  - name: jabar-permits\n    region_prefixes: ['32']\n    event_types: [PermitIssued]\n"
        "    destination: 'jabar.{event_type}'\n"
    )
    rules = load_rules(path)
    assert destinations(rules, "licensing", "PermitIssued", "32.01") == ["jabar.PermitIssued"]
    assert destinations(rules, "licensing", "PermitIssued", "33.01") == []
    assert destinations(rules, "licensing", "PermitApplied", "32") == []
    assert destinations(rules, "licensing", "PermitIssued", "320") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("rules:\n  - name: x\n", "needs name and destination"),
        ("rules:\n  - name: x\n    destination: y\n    themes: [nope]\n", "unknown themes"),
        ("rules:\n  - name: x\n    destination: y\n    colour: red\n", "unknown fields"),
        ("rules:\n  - name: x\n    destination: y\n    event_types: [Nope]\n", "unknown event types"),
    ],
)
def test_bad_rules_are_refused_with_the_rule_named(tmp_path, body: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(body)
    with pytest.raises(RoutingRulesError, match=message):
        load_rules(path)
