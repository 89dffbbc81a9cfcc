"""The publisher SDK against the real broker and registry."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from confluent_kafka.admin import NewTopic
from prometheus_client import REGISTRY

from adapters.privacy import MissingPseudonymKeyError, Pseudonymizer
from adapters.sdk import ACKED, SPOOLED, PublisherClosedError
from adapters.simulator import generate_events
from bus.serde import AvroDeserializer
from schemas import SchemaValidationError
from schemas.cloudevents import parse_headers
from schemas.samples import sample_event
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY, end_offsets, event_ids, read_records

pytestmark = pytest.mark.integration


def test_typed_events_land_keyed_by_region_with_cloudevents_headers(publisher_factory, new_topic, adapter_settings,
                                                                     registry) -> None:
    topic = new_topic("test.sdk", partitions=6)
    events = list(generate_events(21, 400, themes="budgeting,complaints,licensing"))
    publisher = publisher_factory(topic_for=lambda _et: topic, source_system="tests")
    ids = publisher.publish_many(events)
    publisher.flush()
    # flush means acknowledged *or spooled*: a send that failed in the broker's first seconds
    # (seen in CI: "Coordinator load in progress") is spooled and re-sent by the pump.
    assert publisher.drain(90) == 0
    assert ids == [e.event_id for e in events]
    records = read_records(adapter_settings, topic, until=lambda got: len(got) >= 400)
    assert sorted(event_ids(records)) == sorted(ids)
    decode = AvroDeserializer(registry)
    by_id = {e.event_id: e for e in events}
    per_region = defaultdict(list)
    for record in records:
        headers = parse_headers(record.headers)
        event = by_id[headers.id]
        assert record.key == event.region_code == headers.region_code
        assert type(event).from_avro(decode(record.value, topic).value) == event
        per_region[record.key].append(headers.id)
    # one region's events stay in publishing order (one partition per key)
    for region, got in per_region.items():
        assert got == [e.event_id for e in events if e.region_code == region]


def test_acked_call_returns_after_the_ack_and_counts_it(publisher_factory, new_topic) -> None:
    topic = new_topic("test.sdk")
    for confirm in (False, True):
        publisher = publisher_factory(topic_for=lambda _et: topic, confirm=confirm, component=f"c{confirm}")
        before = REGISTRY.get_sample_value("egov_publisher_events_published_total",
                                           {"theme": "budgeting", "outcome": "acked"}) or 0
        results = publisher.publish_many_acked([sample_event("BudgetAllocated", event_id=None)] * 3)
        assert [r.outcome for r in results] == [ACKED] * 3
        publisher.flush()
        after = REGISTRY.get_sample_value("egov_publisher_events_published_total",
                                          {"theme": "budgeting", "outcome": "acked"})
        assert after - before == 3


def test_build_pseudonymizes_a_nik(publisher_factory) -> None:
    publisher = publisher_factory(spool=None)
    event = publisher.build("BirthRegistered", {"nik": "3201014501250001", "registration_delay_days": 3},
                            region_code="32.01", source_system="siak", occurred_at="2025-03-01T08:00:00Z")
    assert event.nik_pseudonym == Pseudonymizer(TEST_PSEUDONYM_KEY).pseudonym("3201014501250001")
    assert (event.sex, event.age_band, event.district_code) == ("P", "0-4", "32.01.01")
    assert "3201014501250001" not in repr(event)
    with pytest.raises(SchemaValidationError, match="nik"):
        publisher.build("BudgetAllocated", {"nik": "3201014501250001"}, region_code="32.01",
                        occurred_at="2025-03-01T08:00:00Z")
    with pytest.raises(SchemaValidationError, match="produced_at"):
        publisher.build("ComplaintReceived", {"produced_at": "2025-03-01T08:00:00Z"}, region_code="32.01",
                        occurred_at="2025-03-01T08:00:00Z")


def test_build_with_a_nik_needs_the_key(publisher_factory, adapter_settings) -> None:
    publisher = publisher_factory(settings=adapter_settings.model_copy(update={"pseudonym_key": None}), spool=None)
    with pytest.raises(MissingPseudonymKeyError):
        publisher.build("BirthRegistered", {"nik": "3201014501250001", "registration_delay_days": 3},
                        region_code="32.01", occurred_at="2025-03-01T08:00:00Z")


def test_events_for_a_missing_topic_are_spooled_then_sent_in_order(publisher_factory, admin, adapter_settings) -> None:
    topic = f"test.sdk.later.{time.time_ns()}"
    publisher = publisher_factory(topic_for=lambda _et: topic, probe_interval_s=0.2, max_backoff_s=1.0,
                                  # librdkafka waits this long before calling a topic missing (default 30 s)
                                  producer_overrides={"topic.metadata.propagation.max.ms": 500})
    events = list(generate_events(5, 300, regions="32.01,33.01,35", themes="complaints"))
    first = publisher.publish_many_acked(events[:100])
    assert {r.outcome for r in first} == {SPOOLED}
    publisher.publish_many(events[100:])
    publisher.flush()
    assert publisher.spool.depth == 300 and publisher.mode == "spooling"
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(15)
    assert publisher.drain(60) == 0
    records = read_records(adapter_settings, topic, until=lambda got: len(set(event_ids(got))) >= 300)
    for region in ("32.01", "33.01", "35"):
        got = list(dict.fromkeys(i for r, i in zip(records, event_ids(records)) if r.key == region))
        assert got == [e.event_id for e in events if e.region_code == region]


def test_closed_publisher_refuses(publisher_factory) -> None:
    publisher = publisher_factory(spool=None)
    publisher.close()
    with pytest.raises(PublisherClosedError):
        publisher.publish(sample_event("BudgetAllocated"))


def test_a_record_the_broker_refuses_for_good_fails_loudly_not_spooled(publisher_factory, new_topic) -> None:
    from adapters.sdk import PublishFailedError

    topic = new_topic("test.sdk.small", partitions=1, config={"max.message.bytes": "64"})
    publisher = publisher_factory(topic_for=lambda _et: topic)
    before = REGISTRY.get_sample_value("egov_publisher_events_published_total",
                                       {"theme": "budgeting", "outcome": "failed"}) or 0
    publisher.publish_many([sample_event("BudgetAllocated")])  # streamed: reported through the failure callback
    with pytest.raises(PublishFailedError, match="MSG_SIZE_TOO_LARGE|too large") as info:
        publisher.flush()
    assert info.value.fields["count"] == 1
    assert publisher.spool.depth == 0 and publisher.mode == "direct"
    assert REGISTRY.get_sample_value("egov_publisher_events_published_total",
                                     {"theme": "budgeting", "outcome": "failed"}) == before + 1
