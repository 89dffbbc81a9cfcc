"""Offset spans: end minus start per topic, never negative (a partition truncated under the reader)."""

from __future__ import annotations

from bus.kafka.offsets import spans, watermarks


def test_spans_sum_each_topics_partitions() -> None:
    partitions = {"egov.budgeting.dlq": [0, 1], "egov.planning.dlq": [0]}
    start = {("egov.budgeting.dlq", 0): 10, ("egov.budgeting.dlq", 1): 0, ("egov.planning.dlq", 0): 7}
    end = {("egov.budgeting.dlq", 0): 14, ("egov.budgeting.dlq", 1): 3, ("egov.planning.dlq", 0): 5}
    assert spans(partitions, start, end) == {"egov.budgeting.dlq": 7, "egov.planning.dlq": 0}


def test_no_partitions_asks_nothing() -> None:
    assert watermarks(None, {}, 1.0) == ({}, {})  # type: ignore[arg-type]


def test_committed_of_no_partitions_builds_no_consumer() -> None:
    from bus.kafka.offsets import committed

    assert committed(None, "g", {}, 1.0) == {}
    assert committed(None, "g", {"egov.budgeting.events": []}, 1.0) == {}
