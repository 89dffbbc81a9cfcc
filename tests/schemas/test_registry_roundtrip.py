"""Every event type round-trips a sample record through the real schema registry."""

from __future__ import annotations

import uuid

import pytest

import schemas
from bus.serde import AvroDeserializer, AvroSerializer
from schemas.samples import sample_event

pytestmark = pytest.mark.integration


def test_every_event_type_round_trips_through_the_registry(registry):
    # A private topic prefix keeps these subjects apart from the real ones and from parallel runs.
    prefix = f"test.roundtrip.{uuid.uuid4().hex[:10]}"
    reader_schemas = {et.record_name: et.avro_schema for et in schemas.EVENT_TYPES.values()}
    deserializer = AvroDeserializer(registry, reader_schemas=reader_schemas)
    seen_ids = set()
    for et in schemas.EVENT_TYPES.values():
        topic = f"{prefix}.{et.theme}"
        event = sample_event(et.name)
        serializer = AvroSerializer(registry, et.avro_schema)
        payload = serializer(event.to_avro(), topic)
        assert serializer.subject(topic) == f"{topic}-{et.record_name}"
        decoded = deserializer(payload, topic)
        assert decoded.record_name == et.record_name
        assert decoded.schema_id == serializer.schema_id(topic)
        assert et.model.from_avro(decoded.value).to_avro() == event.to_avro()
        assert et.model.from_avro(decoded.value) == event
        seen_ids.add(decoded.schema_id)
    assert len(seen_ids) == len(schemas.EVENT_TYPES)  # one schema per event type
