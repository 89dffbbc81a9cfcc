"""The topic-name builders of ``schemas.topic_names``: the names, the prefix rule, the parser."""

from __future__ import annotations

import pytest

import schemas
from schemas.topic_names import (
    PROVINCE_FEED_TEMPLATE,
    TopicName,
    changelog_topic,
    dlq_topic,
    dlq_topic_for,
    ministry_feed_topic,
    parse_topic,
    prefixed,
    province_feed_topic,
    theme_topic,
    view_topic,
)


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (theme_topic("budgeting"), "egov.budgeting.events"),
        (dlq_topic("budgeting"), "egov.budgeting.dlq"),
        (view_topic("budget_absorption"), "egov.view.budget_absorption"),
        (province_feed_topic("32"), "egov.province.32.events"),
        (ministry_feed_topic("finance"), "egov.ministry.finance.events"),
        (changelog_topic("egov-processors"), "egov-processors-views-changelog"),
    ],
)
def test_names(built: str, expected: str) -> None:
    assert built == expected


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (theme_topic("budgeting", "test.ab"), "test.ab.egov.budgeting.events"),
        (dlq_topic("budgeting", "test.ab"), "test.ab.egov.budgeting.dlq"),
        (view_topic("budget_absorption", "test.ab"), "test.ab.egov.view.budget_absorption"),
        (province_feed_topic("32", "test.ab"), "test.ab.egov.province.32.events"),
        (ministry_feed_topic("finance", "test.ab"), "test.ab.egov.ministry.finance.events"),
        (changelog_topic("egov-processors", "test.ab"), "test.ab.egov-processors-views-changelog"),
    ],
)
def test_every_builder_applies_the_one_prefix_rule(built: str, expected: str) -> None:
    assert built == expected


@pytest.mark.parametrize("prefix", [None, ""])
def test_no_prefix_leaves_the_name(prefix: str | None) -> None:
    assert prefixed("egov.budgeting.events", prefix) == "egov.budgeting.events"
    assert theme_topic("budgeting", prefix) == "egov.budgeting.events"


def test_schemas_reexports_the_same_builders() -> None:
    assert schemas.theme_topic is theme_topic and schemas.dlq_topic is dlq_topic
    et = schemas.event_type("BudgetAllocated")
    assert (et.topic, et.dlq_topic) == ("egov.budgeting.events", "egov.budgeting.dlq")


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("egov.complaints.events", "egov.complaints.dlq"),
        ("test.x.egov.complaints.events", "test.x.egov.complaints.dlq"),
        ("egov.province.32.events", "egov.province.32.dlq"),
        ("something-else", "something-else.dlq"),
    ],
)
def test_dlq_topic_for_a_record_keeps_the_prefix(topic: str, expected: str) -> None:
    assert dlq_topic_for(topic) == expected


def test_province_template_formats_to_the_builder() -> None:
    assert PROVINCE_FEED_TEMPLATE == "egov.province.{province_code}.events"
    assert PROVINCE_FEED_TEMPLATE.format(province_code="94") == province_feed_topic("94")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("egov.budgeting.events", TopicName("theme", "budgeting")),
        ("egov.budgeting.dlq", TopicName("dlq", "budgeting")),
        ("egov.view.integration_index", TopicName("view", "integration_index")),
        ("egov.province.32.events", TopicName("province", "32")),
        ("egov.ministry.panrb.events", TopicName("ministry", "panrb")),
        ("test.ab.egov.budgeting.events", TopicName("theme", "budgeting", "test.ab")),
        ("egov.egov.view.x", TopicName("view", "x", "egov")),
        ("t.egov.province.11.events", TopicName("province", "11", "t")),
    ],
)
def test_parse_topic(name: str, expected: TopicName) -> None:
    assert parse_topic(name) == expected


@pytest.mark.parametrize(
    "name",
    ["egov.budgeting", "budgeting.events", "egov.Budgeting.events", "egov.province.3.events", "egov.view.", "x"],
)
def test_parse_topic_refuses_other_names(name: str) -> None:
    assert parse_topic(name) is None


def test_every_builder_parses_back() -> None:
    for built, kind, part in [
        (theme_topic("revenue", "p"), "theme", "revenue"),
        (dlq_topic("revenue", "p"), "dlq", "revenue"),
        (view_topic("licensing_throughput", "p"), "view", "licensing_throughput"),
        (province_feed_topic("94", "p"), "province", "94"),
        (ministry_feed_topic("finance", "p"), "ministry", "finance"),
    ]:
        assert parse_topic(built) == TopicName(kind, part, "p")
