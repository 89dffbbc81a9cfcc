"""Errors the processors raise are inside the EgovBusError hierarchy (unit)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bus.errors import EgovBusError
from bus.settings import load_settings
from processors import app as app_module
from processors.api.exceptions import RollupLevelError, ViewFilterError
from processors.api.rollups import roll_up
from processors.exceptions import AggregationError, TopologyError, UnknownAggregateError
from processors.views.aggregates import _nth, render_row
from topics.catalog import load_catalog


def test_theme_topics_with_different_partition_counts_are_a_topology_error(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog()
    themes = [t for t in catalog.topics if t.kind == "theme"]
    odd = themes[0].name
    skewed = replace(catalog, topics=tuple(replace(t, partitions=t.partitions + 1) if t.name == odd else t
                                           for t in catalog.topics))
    monkeypatch.setattr(app_module, "load_catalog", lambda prefix=None: skewed)
    settings = load_settings(env_file="/dev/null", processor_data_dir="/tmp/egov-unit-never-used")
    with pytest.raises(TopologyError, match="theme topics must share one partition count") as caught:
        app_module.build_app(settings)
    assert isinstance(caught.value, EgovBusError)
    assert caught.value.fields == {"partitions": sorted({themes[0].partitions, themes[0].partitions + 1})}


def test_an_unknown_roll_up_level_is_a_422_filter_error_and_still_a_value_error() -> None:
    with pytest.raises(RollupLevelError) as caught:
        roll_up("budget_absorption", [], "kabupaten")
    assert isinstance(caught.value, ViewFilterError) and isinstance(caught.value, ValueError)
    assert caught.value.fields == {"loc": ["query", "level"], "input": "kabupaten"}


def test_rendering_a_view_no_aggregator_knows_is_an_aggregation_error() -> None:
    with pytest.raises(UnknownAggregateError, match="no aggregator renders a view named 'nope'") as caught:
        render_row("nope", "32.01|x", {})
    assert caught.value.stage == "aggregate" and caught.value.fields == {"view": "nope"}


def test_an_index_beyond_the_multiset_is_an_aggregation_error() -> None:
    assert _nth([(3, 2), (5, 1)], 2) == 5
    with pytest.raises(AggregationError, match="index 3 is beyond the 3 values"):
        _nth([(3, 2), (5, 1)], 3)
