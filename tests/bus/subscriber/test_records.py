"""Record decoding of the subscriber, without a broker (``bus.subscriber.records``)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_NOT_AVAILABLE
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient

import schemas
from bus.serde import AvroSerializer, UnknownSchemaError, WireFormatError
from bus.subscriber import ForeignRecordError, SubscribedEvent, TransientDecodeError, Undecodable
from bus.subscriber.filters import theme_event_types
from bus.subscriber.records import RecordDecoder, broker_time
from schemas.cloudevents import build_headers
from schemas.samples import sample_event
from schemas.topic_names import theme_topic

TOPIC = theme_topic("complaints", "t")
TS = 1_741_919_400_000  # 2025-03-14T02:30:00Z


class Msg:
    """The part of a confluent-kafka ``Message`` the decoder reads."""

    def __init__(self, value, *, topic=TOPIC, key=b"32.01", headers=None, ts=(TIMESTAMP_CREATE_TIME, TS)):
        self._value, self._topic, self._key, self._headers, self._ts = value, topic, key, headers, ts

    def topic(self):
        return self._topic

    def partition(self):
        return 2

    def offset(self):
        return 41

    def key(self):
        return self._key

    def value(self):
        return self._value

    def headers(self):
        return self._headers

    def timestamp(self):
        return self._ts


@pytest.fixture
def registry():
    return MockSchemaRegistryClient({"url": "mock://records"})


def _decoder(registry) -> RecordDecoder:
    return RecordDecoder(registry, {TOPIC: "complaints"}, theme_event_types(["complaints"]))


def _encoded(registry, name: str):
    ev = sample_event(name)
    et = schemas.event_type(name)
    return ev, AvroSerializer(registry, et.avro_schema)(ev.to_avro(), TOPIC)


def test_an_event_is_decoded_typed(registry):
    ev, value = _encoded(registry, "ComplaintReceived")
    headers = build_headers(ev)
    item = _decoder(registry)(Msg(value, key=ev.region_code.encode(), headers=headers))
    assert isinstance(item, SubscribedEvent)
    assert (item.event, item.event_type, item.theme, item.key) == (ev, "ComplaintReceived", "complaints", ev.region_code)
    assert (item.topic, item.partition, item.offset) == (TOPIC, 2, 41)
    assert item.timestamp == datetime(2025, 3, 14, 2, 30, tzinfo=timezone.utc)
    assert item.headers == dict(headers) and item.header("ce_id") == ev.envelope.event_id
    assert item.schema_id == int.from_bytes(value[1:5], "big")


def test_a_record_of_another_theme_is_undecodable(registry):
    _ev, value = _encoded(registry, "BudgetAllocated")
    item = _decoder(registry)(Msg(value))
    assert isinstance(item, Undecodable) and isinstance(item.error, ForeignRecordError)
    assert item.reason == f"record id.go.egov.budgeting.BudgetAllocated belongs to theme 'budgeting', not to topic {TOPIC}"
    assert item.raw_value == value


@pytest.mark.parametrize(
    ("value", "error"),
    [(b"not avro", WireFormatError), (None, WireFormatError), (b"\x00\x00\x00\x99\x99\x02", UnknownSchemaError)],
)
def test_bad_bytes_are_undecodable_with_the_typed_reason(registry, value, error):
    item = _decoder(registry)(Msg(value, key=None))
    assert isinstance(item, Undecodable) and type(item.error) is error
    assert (item.error_class, item.key, item.theme) == (error.__name__, None, "complaints")


class DownRegistry(MockSchemaRegistryClient):
    def get_schema(self, *args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")


def test_a_registry_that_does_not_answer_is_transient(registry):
    _ev, value = _encoded(registry, "ComplaintReceived")
    with pytest.raises(TransientDecodeError) as info:
        _decoder(DownRegistry({"url": "mock://down"}))(Msg(value))
    assert info.value.fields == {"topic": TOPIC, "partition": 2, "offset": 41}


def test_broker_time():
    assert broker_time(Msg(b"", ts=(TIMESTAMP_CREATE_TIME, TS))) == datetime(2025, 3, 14, 2, 30, tzinfo=timezone.utc)
    assert broker_time(Msg(b"", ts=(TIMESTAMP_NOT_AVAILABLE, -1))) is None


def test_a_feed_record_takes_its_theme_from_its_schema(registry):
    feed = "t.egov.province.32.events"
    decoder = RecordDecoder(registry, {feed: None}, theme_event_types(["complaints", "budgeting"]))
    for name, theme in (("ComplaintReceived", "complaints"), ("BudgetAllocated", "budgeting")):
        _ev, value = _encoded(registry, name)
        item = decoder(Msg(value, topic=feed))
        assert isinstance(item, SubscribedEvent), item
        assert (item.event_type, item.theme, item.topic) == (name, theme, feed)
    bad = decoder(Msg(b"not avro", topic=feed))
    assert isinstance(bad, Undecodable) and bad.theme == "feed"
