"""Every event type round-trips a sample record through the real schema registry."""

from __future__ import annotations

import uuid

import pytest

import schemas
from bus.serde import AvroDeserializer, AvroSerializer
from schemas.samples import sample_event
from topics.catalog import load_catalog
from topics.registry import desired_subjects, register

pytestmark = pytest.mark.integration


def test_every_event_type_round_trips_through_the_registry(registry):
    # A private topic prefix keeps these subjects apart from the real ones and from parallel runs.
    catalog = load_catalog(prefix=f"test.roundtrip.{uuid.uuid4().hex[:10]}")
    registered = {r.subject: r.schema_id for r in register(registry, desired_subjects(catalog))}
    assert len(registered) == len(schemas.EVENT_TYPES)

    reader_schemas = {et.record_name: et.avro_schema for et in schemas.EVENT_TYPES.values()}
    deserializer = AvroDeserializer(registry, reader_schemas=reader_schemas)
    for et in schemas.EVENT_TYPES.values():
        topic = catalog.theme_topic(et.theme).name
        event = sample_event(et.name)
        # auto_register=False: the serializer must find exactly the schema `schemas register` put there
        serializer = AvroSerializer(registry, et.avro_schema, auto_register=False)
        payload = serializer(event.to_avro(), topic)
        subject = serializer.subject(topic)
        assert subject == f"{topic}-{et.record_name}"
        assert serializer.schema_id(topic) == registered[subject]

        decoded = deserializer(payload, topic)
        assert (decoded.record_name, decoded.schema_id) == (et.record_name, registered[subject])
        assert et.model.from_avro(decoded.value).to_avro() == event.to_avro()
        assert et.model.from_avro(decoded.value) == event
    assert len(set(registered.values())) == len(schemas.EVENT_TYPES)  # one schema per event type
