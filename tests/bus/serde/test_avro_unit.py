"""Unit tests for the Avro serde: every malformed input is a typed error."""

from __future__ import annotations

import struct

import pytest
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient

from bus.serde import (
    AvroDeserializer,
    AvroEncodeError,
    AvroSerializer,
    SerdeError,
    TruncatedPayloadError,
    UnknownSchemaError,
    WireFormatError,
    topic_record_name_strategy,
)

SCHEMA = {
    "type": "record",
    "name": "Ping",
    "namespace": "id.go.egov.test",
    "fields": [
        {"name": "region_code", "type": "string", "doc": "region"},
        {"name": "n", "type": "long", "doc": "counter"},
    ],
}


@pytest.fixture
def registry() -> MockSchemaRegistryClient:
    return MockSchemaRegistryClient({"url": "mock://unit"})


def test_round_trip_and_subject_strategy(registry) -> None:
    ser = AvroSerializer(registry, SCHEMA)
    data = ser({"region_code": "32.01", "n": 7}, "egov.test.events")
    assert data[0] == 0
    assert ser.subject("egov.test.events") == "egov.test.events-id.go.egov.test.Ping"
    decoded = AvroDeserializer(registry)(data)
    assert decoded.value == {"region_code": "32.01", "n": 7}
    assert decoded.record_name == "id.go.egov.test.Ping"
    assert decoded.schema_id == struct.unpack(">I", data[1:5])[0]


def test_injected_strategy_is_used(registry) -> None:
    ser = AvroSerializer(registry, SCHEMA, subject_name_strategy=lambda topic, name: f"custom-{name}")
    ser({"region_code": "32", "n": 1}, "t")
    assert registry.get_subjects() == ["custom-id.go.egov.test.Ping"]
    assert topic_record_name_strategy("t", "a.B") == "t-a.B"


def test_wrong_magic_byte(registry) -> None:
    with pytest.raises(WireFormatError, match="magic byte 0x07") as info:
        AvroDeserializer(registry)(b"\x07\x00\x00\x00\x01abc")
    assert info.value.fields["reason"] == "magic_byte"


@pytest.mark.parametrize("data", [b"", b"\x00\x00", None])
def test_too_short_or_null(registry, data) -> None:
    with pytest.raises(WireFormatError):
        AvroDeserializer(registry)(data)


def test_unknown_schema_id(registry) -> None:
    with pytest.raises(UnknownSchemaError) as info:
        AvroDeserializer(registry)(b"\x00\x00\x00\x99\x99\x02")
    assert info.value.fields["schema_id"] == 0x9999


def test_truncated_body(registry) -> None:
    data = AvroSerializer(registry, SCHEMA)({"region_code": "32.01", "n": 123456789}, "t")
    with pytest.raises(TruncatedPayloadError) as info:
        AvroDeserializer(registry)(data[:-3])
    assert info.value.fields["record_name"] == "id.go.egov.test.Ping"


def test_trailing_garbage_is_refused(registry) -> None:
    data = AvroSerializer(registry, SCHEMA)({"region_code": "32", "n": 1}, "t")
    with pytest.raises(SerdeError, match="trailing"):
        AvroDeserializer(registry)(data + b"\x01\x02")


def test_value_that_does_not_fit_is_a_typed_error(registry) -> None:
    ser = AvroSerializer(registry, SCHEMA)
    with pytest.raises(AvroEncodeError, match="Ping"):
        ser({"region_code": "32", "n": "not a number"}, "t")


def test_random_bytes_never_crash(registry) -> None:
    import random

    AvroSerializer(registry, SCHEMA)({"region_code": "32", "n": 1}, "t")
    rng = random.Random(42)
    de = AvroDeserializer(registry)
    for _ in range(500):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
        try:
            de(blob)
        except SerdeError:
            pass


def test_wire_times_leave_timestamps_and_uuids_as_on_the_wire(registry) -> None:
    from datetime import datetime, timezone
    from decimal import Decimal

    schema = {
        "type": "record", "name": "Timed", "namespace": "id.go.egov.test",
        "fields": [
            {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 2}},
        ],
    }
    at = datetime(2026, 12, 1, 8, 30, 0, 123000, tzinfo=timezone.utc)
    data = AvroSerializer(registry, schema)(
        {"id": "0b7e5b7c-6d7b-4b3e-9a31-8f2b4f9d1c00", "at": at, "amount": Decimal("12.50")}, "t"
    )
    raw = AvroDeserializer(registry, wire_times=True)(data).value
    assert raw == {"id": "0b7e5b7c-6d7b-4b3e-9a31-8f2b4f9d1c00", "at": int(at.timestamp() * 1000), "amount": Decimal("12.50")}
    typed = AvroDeserializer(registry)(data).value
    assert typed["at"] == at and str(typed["id"]) == raw["id"]
