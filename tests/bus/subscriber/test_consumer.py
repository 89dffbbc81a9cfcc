"""The subscriber's consumer setup, without a broker (``bus.subscriber.consumer``, ``bus.subscriber.stats``)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException
from prometheus_client import REGISTRY

from bus.kafka.exceptions import BrokerUnavailableError
from bus.settings import load_settings
from bus.subscriber import SubscriberError, SubscriberStats, TopicMissingError
from bus.subscriber.consumer import FIXED_CONFIG, check_topics, group_consumer


@pytest.mark.parametrize("key", sorted(FIXED_CONFIG))
def test_fixed_settings_cannot_be_overridden(key):
    with pytest.raises(SubscriberError) as info:
        group_consumer(load_settings(), "g", auto_offset_reset="earliest", error_cb=print, on_commit=print,
                       overrides={key: "x", "fetch.min.bytes": 1})
    assert info.value.fields == {"keys": [key]}


class Metadata:
    topics = {"t.egov.complaints.events": object()}


class FakeConsumer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def list_topics(self, timeout):
        if self.fail:
            raise KafkaException("timed out")
        return Metadata()


def test_check_topics_names_the_missing_ones():
    settings = load_settings()
    check_topics(FakeConsumer(), ["t.egov.complaints.events"], settings, 1.0)
    with pytest.raises(TopicMissingError) as info:
        check_topics(FakeConsumer(), ["t.egov.complaints.events", "t.egov.revenue.events", "t.egov.assets.events"], settings, 1.0)
    assert info.value.fields == {"topics": ["t.egov.assets.events", "t.egov.revenue.events"]}


def test_check_topics_without_a_broker():
    with pytest.raises(BrokerUnavailableError):
        check_topics(FakeConsumer(fail=True), ["t"], load_settings(), 1.0)


def test_stats_count_here_and_in_prometheus():
    def counted(outcome):
        return REGISTRY.get_sample_value("egov_subscriber_records_total", {"theme": "opendata", "outcome": outcome}) or 0

    before = {o: counted(o) for o in ("event", "filtered", "undecodable")}
    stats = SubscriberStats()
    for outcome in ("event", "event", "filtered", "undecodable"):
        stats.record("opendata", outcome)
    assert (stats.events, stats.filtered, stats.undecodable) == (2, 1, 1)
    assert {o: counted(o) - before[o] for o in before} == {"event": 2, "filtered": 1, "undecodable": 1}
