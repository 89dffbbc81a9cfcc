"""Unit tests for the SDK's encoding hot path: same bytes as fastavro, valid CloudEvents headers."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import fastavro
import pytest
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.privacy import Pseudonymizer, RawNikError
from adapters.sdk.codec import EventCodec, _long_bytes, rfc3339_millis
from adapters.simulator import generate_events
from bus.serde import AvroDeserializer, AvroSerializer, unpack_header
from schemas import EVENT_TYPES, event_type
from schemas.cloudevents import build_headers, parse_headers
from schemas.samples import sample_event


@pytest.fixture(scope="module")
def registry() -> MockSchemaRegistryClient:
    return MockSchemaRegistryClient({"url": "mock://codec-tests"})


@pytest.fixture(scope="module")
def codecs(registry: MockSchemaRegistryClient) -> dict[str, EventCodec]:
    return {name: EventCodec(et, AvroSerializer(registry, et.avro_schema), et.topic) for name, et in EVENT_TYPES.items()}


def fastavro_bytes(codec: EventCodec, event) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, codec.event_type.parsed_schema, event.to_avro())
    return codec.header + buf.getvalue()


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_sample_of_every_event_type_encodes_like_fastavro(name: str, codecs: dict) -> None:
    event = sample_event(name)
    key, value, headers = codecs[name].encode_record(event)
    assert value == fastavro_bytes(codecs[name], event)
    assert key == event.region_code.encode()


def test_simulated_events_encode_like_fastavro_and_decode_back(codecs: dict, registry) -> None:
    decoder = AvroDeserializer(registry)
    for event in generate_events(11, 3000, pseudonymizer=Pseudonymizer("codec-test-key-0123456789")):
        codec = codecs[type(event).__name__]
        _key, value, _headers = codec.encode_record(event)
        assert value == fastavro_bytes(codec, event)
        decoded = decoder(value, codec.topic)
        assert type(event).from_avro(decoded.value) == event


def test_headers_are_the_cloudevents_contract(codecs: dict) -> None:
    event = sample_event("BudgetAllocated")
    _key, _value, headers = codecs["BudgetAllocated"].encode_record(event)
    parsed = parse_headers(headers)
    assert parsed.id == event.event_id and parsed.event_name == "BudgetAllocated"
    assert parsed.region_code == "32.01" and parsed.source_system == "sipd"
    assert parsed.time == event.envelope.occurred_at
    assert parsed.trace_id == event.event_id.replace("-", "")
    reference = build_headers(event, trace_id=dict(headers)["traceparent"])
    assert [(k, v.encode()) for k, v in headers] == reference


def test_a_callers_traceparent_is_kept(codecs: dict) -> None:
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    _k, _v, headers = codecs["BudgetAllocated"].encode_record(sample_event("BudgetAllocated"), trace)
    assert dict(headers)["traceparent"] == trace


def test_raw_nik_in_free_text_is_refused(codecs: dict) -> None:
    event = sample_event("ComplaintResolved", outcome="pelapor 3201014501900001 sudah dihubungi")
    with pytest.raises(RawNikError, match="ComplaintResolved.outcome"):
        codecs["ComplaintResolved"].encode_record(event)
    # a pseudonym with digit runs is fine
    person = sample_event("BirthRegistered", nik_pseudonym="1234567890123456" + "a" * 48)
    codecs["BirthRegistered"].encode_record(person)


def test_schema_id_is_in_the_wire_header(codecs: dict, registry) -> None:
    _k, value, _h = codecs["BudgetAllocated"].encode_record(sample_event("BudgetAllocated"))
    subject = f"{event_type('BudgetAllocated').topic}-id.go.egov.budgeting.BudgetAllocated"
    assert unpack_header(value) == registry.get_latest_version(subject).schema_id


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_long_encoding_matches_avro(n: int) -> None:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, {"type": "long"}, n)
    assert _long_bytes(n) == buf.getvalue()


@settings(max_examples=300)
@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_rfc3339_millis(moment: datetime) -> None:
    moment = moment.replace(tzinfo=timezone.utc, microsecond=moment.microsecond // 1000 * 1000)
    ms = (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)
    assert rfc3339_millis(ms) == moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@settings(deadline=None)  # each example builds a codec (schema parsing): slow on a busy machine, not wrong
@given(st.decimals(min_value=-(10**18) + 1, max_value=10**18 - 1, places=2, allow_nan=False, allow_infinity=False))
def test_money_encodes_like_fastavro(amount) -> None:
    registry = MockSchemaRegistryClient({"url": "mock://money"})
    et = event_type("AssetRevalued")
    codec = EventCodec(et, AvroSerializer(registry, et.avro_schema), et.topic)
    event = sample_event("AssetRevalued", previous_value=abs(amount), new_value=abs(amount))
    assert codec.encode_record(event)[1] == fastavro_bytes(codec, event)


def test_headers_are_rebuilt_from_the_value_for_failure_reports(codecs: dict) -> None:
    for name in ("BudgetAllocated", "BirthRegistered", "DatasetPublished"):
        _key, value, headers = codecs[name].encode_record(sample_event(name))
        assert codecs[name].headers_from_value(value) == headers
