"""The consumer-lag gauge (unit, a scripted consumer): a failed read is NaN and counted, never the old value."""

from __future__ import annotations

import logging
import math

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from prometheus_client import REGISTRY

from processors.health import LagGauge

GROUP = "test-lag-gauge"


@pytest.fixture(autouse=True)
def _fresh_series():
    """Each test starts with no series of its group (the metrics are process-wide)."""
    from processors import metrics

    for topic in ("egov.a.events", "egov.b.events"):
        metrics.CONSUMER_LAG.remove(GROUP, topic)
    yield


def _lag(topic: str) -> float | None:
    return REGISTRY.get_sample_value("egov_consumer_lag_records", {"group": GROUP, "topic": topic})


def _failures() -> float:
    return REGISTRY.get_sample_value("egov_processor_lag_read_failures_total", {"group": GROUP}) or 0.0


class _Consumer:
    """Positions and cached high watermarks from dicts; a listed failure raises KafkaException."""

    def __init__(self) -> None:
        self.positions: dict[tuple[str, int], int] = {}
        self.highs: dict[tuple[str, int], int] = {}
        self.positions_fail = False
        self.watermarks_fail: set[tuple[str, int]] = set()

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        if self.positions_fail:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT, "broker away"))
        return [TopicPartition(tp.topic, tp.partition, self.positions[(tp.topic, tp.partition)]) for tp in partitions]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        assert cached, "the gauge must not make a broker call"
        if (tp.topic, tp.partition) in self.watermarks_fail:
            raise KafkaException(KafkaError(KafkaError._STATE, "no cached watermarks"))
        return 0, self.highs[(tp.topic, tp.partition)]


@pytest.fixture
def consumer() -> _Consumer:
    c = _Consumer()
    for topic in ("egov.a.events", "egov.b.events"):
        for p in (0, 1):
            c.positions[(topic, p)] = 10
            c.highs[(topic, p)] = 15 + p
    return c


OWNED = [("egov.a.events", 0), ("egov.a.events", 1), ("egov.b.events", 0), ("egov.b.events", 1)]


def test_lag_is_summed_per_topic(consumer: _Consumer) -> None:
    LagGauge(GROUP).publish(consumer, OWNED)
    assert (_lag("egov.a.events"), _lag("egov.b.events")) == (11.0, 11.0)


def test_a_failed_read_sets_nan_counts_and_logs_once_per_streak(consumer: _Consumer, caplog) -> None:
    gauge = LagGauge(GROUP)
    gauge.publish(consumer, OWNED)
    before = _failures()
    consumer.positions_fail = True
    with caplog.at_level(logging.INFO, logger="egov.processors.health"):
        gauge.publish(consumer, OWNED)
        gauge.publish(consumer, OWNED)
        assert math.isnan(_lag("egov.a.events")) and math.isnan(_lag("egov.b.events"))
        assert _failures() == before + 2
        consumer.positions_fail = False
        consumer.highs[("egov.a.events", 0)] = 20
        gauge.publish(consumer, OWNED)
    assert (_lag("egov.a.events"), _lag("egov.b.events")) == (16.0, 11.0)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "consumer lag unreadable for egov.a.events, egov.b.events (positions: KafkaError{code=_TRANSPORT,"
                    "val=-195,str=\"broker away\"}): the gauge is NaN until a read succeeds"),
        ("INFO", "consumer lag read again after 2 failed read(s)"),
    ]
    assert gauge.failures_in_streak == 0


def test_an_unreadable_partition_makes_only_its_topic_nan(consumer: _Consumer) -> None:
    gauge = LagGauge(GROUP)
    before = _failures()
    consumer.watermarks_fail = {("egov.b.events", 1)}
    gauge.publish(consumer, OWNED)
    assert _lag("egov.a.events") == 11.0
    assert math.isnan(_lag("egov.b.events"))
    assert _failures() == before + 1


def test_a_topic_no_longer_owned_loses_its_series(consumer: _Consumer) -> None:
    gauge = LagGauge(GROUP)
    gauge.publish(consumer, OWNED)
    gauge.publish(consumer, OWNED[:2])
    assert _lag("egov.a.events") == 11.0
    assert _lag("egov.b.events") is None


def test_a_partition_not_fetched_yet_counts_nothing_and_a_topic_with_none_fetched_is_unknown(consumer) -> None:
    gauge = LagGauge(GROUP)
    before = _failures()
    consumer.positions[("egov.a.events", 0)] = -1001  # OFFSET_INVALID: no position yet
    consumer.highs[("egov.b.events", 0)] = -1  # no cached end yet
    consumer.highs[("egov.b.events", 1)] = -1
    gauge.publish(consumer, OWNED)
    assert _lag("egov.a.events") == 6.0  # partition 1 only
    assert math.isnan(_lag("egov.b.events"))
    assert _failures() == before
    assert gauge.failures_in_streak == 0
