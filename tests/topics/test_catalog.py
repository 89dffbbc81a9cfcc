"""The topic catalogue as data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import schemas
import schemas.regions
from schemas.topic_names import ministry_feed_topic, parse_topic, province_feed_topic
from topics.catalog import CATALOG_FILE, load_catalog
from topics.exceptions import CatalogError

VIEWS = ["egov.view.integration_index", "egov.view.budget_absorption", "egov.view.complaint_service_level", "egov.view.licensing_throughput"]


def test_theme_dlq_view_and_routed_topics():
    cat = load_catalog()
    assert [t.name for t in cat.of_kind("theme")] == [f"egov.{t}.events" for t in schemas.THEMES]
    assert [t.name for t in cat.of_kind("dlq")] == [f"egov.{t}.dlq" for t in schemas.THEMES]
    assert [t.name for t in cat.of_kind("view")] == VIEWS
    assert len(cat.of_kind("routed")) == 38 + 2  # per-province feeds and two ministry feeds
    assert cat.topic("egov.ministry.finance.events").event_types == tuple(
        n for n, et in __import__("schemas").EVENT_TYPES.items() if et.theme in ("budgeting", "treasury", "revenue")
    )
    assert cat.topic("egov.province.32.events").kind == "routed"


def test_every_event_type_is_on_exactly_its_theme_topic():
    cat = load_catalog()
    for et in schemas.EVENT_TYPES.values():
        carriers = [t.name for t in cat.of_kind("theme") if et.name in t.event_types]
        assert carriers == [et.topic]
        assert et.name in cat.topic(et.dlq_topic).event_types


def test_settings_per_kind():
    cat = load_catalog()
    theme = cat.topic("egov.budgeting.events")
    assert (theme.partitions, theme.replication_factor) == (12, 3)
    assert theme.config["cleanup.policy"] == "delete" and theme.config["min.insync.replicas"] == "2"
    assert int(theme.config["retention.ms"]) == 30 * 24 * 3600 * 1000
    view = cat.topic("egov.view.budget_absorption")
    assert view.config["cleanup.policy"] == "compact"
    assert view.reads == ("BudgetAllocated", "BudgetRealizationPosted")
    for t in cat.topics:
        assert all(isinstance(v, str) for v in t.config.values())


def test_clamping_to_a_small_cluster():
    spec = load_catalog().topic("egov.licensing.events")
    assert spec.effective(3) == (3, dict(spec.config), [])
    rf, config, notes = spec.effective(1)
    assert (rf, config["min.insync.replicas"]) == (1, "1")
    assert notes == ["replication factor 3 -> 1 (1 broker)", "min.insync.replicas 2 -> 1 (replication factor 1)"]
    rf, config, notes = load_catalog().with_replication_factor(2).topic("egov.licensing.events").effective(5)
    assert (rf, config["min.insync.replicas"], notes) == (2, "2", [])


def test_prefix_renames_every_topic():
    cat = load_catalog(prefix="test.x")
    assert all(t.name.startswith("test.x.egov.") for t in cat.topics)
    assert cat.topic("egov.planning.events").name == "test.x.egov.planning.events"


def test_every_name_follows_the_rule_of_its_kind():
    kinds = {"theme": "theme", "dlq": "dlq", "view": "view"}
    for t in load_catalog(prefix="test.x").topics:
        parsed = parse_topic(t.name)
        assert parsed is not None and parsed.prefix == "test.x", t.name
        assert parsed.kind == kinds.get(t.kind, parsed.kind) and (t.kind != "routed" or parsed.kind in ("province", "ministry"))
        if t.kind in ("theme", "dlq"):
            assert parsed.part == t.theme


def test_routed_names_are_the_builders():
    cat = load_catalog()
    provinces = [t.name for t in cat.of_kind("routed") if parse_topic(t.name).kind == "province"]
    assert provinces == [province_feed_topic(p.code) for p in schemas.regions.provinces()]
    assert [t.name for t in cat.of_kind("routed") if parse_topic(t.name).kind == "ministry"] == [
        ministry_feed_topic("finance"), ministry_feed_topic("panrb")
    ]


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(CATALOG_FILE.read_text())
    mutate(data)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["topics"].pop(0), "no theme topic for themes ['planning']"),
        (lambda d: d["topics"].append(dict(d["topics"][0])), "topics listed twice: ['egov.planning.events']"),
        (lambda d: d["topics"][0].update(name="egov.plan.events"), "a theme topic of planning must be called egov.planning.events"),
        (lambda d: d["topics"][0].update(theme="weather"), "theme 'weather' is not one of the 15 themes"),
        (lambda d: d["topics"][0].update(event_types=["X"]), "event types of theme topics come from schemas/avro/planning/"),
        (lambda d: d["topics"][0].update(partitions=0), "partitions: must be an integer >= 1"),
        (lambda d: d["topics"][0].update(config={"retention.ms": 1.5}), "config retention.ms must be a string"),
        (lambda d: d["topics"][0].update(colour="red"), "unknown keys ['colour']"),
        (lambda d: d["kinds"].pop("view"), "kinds must define exactly"),
        (lambda d: d["topics"][30].update(name="views.integration_index"), "a view topic must be called egov.view.<view>"),
        (lambda d: d["routed"][0].update(name="egov.prov.{province_code}.events"),
         "needs for_each: province and the name egov.province.{province_code}.events"),
        (lambda d: d["routed"][1].update(name="egov.finance.feed"), "a feed of some themes must be called egov.ministry.<ministry>.events"),
    ],
)
def test_bad_catalogues_are_refused_with_a_reason(tmp_path, mutate, message):
    with pytest.raises(CatalogError) as exc:
        load_catalog(_write(tmp_path, mutate))
    assert message in str(exc.value)
