"""Integration: Avro records through the real broker and registry."""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest

from bus.kafka import EgovConsumer, EgovProducer
from bus.serde import AvroDeserializer, AvroSerializer

pytestmark = pytest.mark.integration

SCHEMA = {
    "type": "record",
    "name": "RoundTrip",
    "namespace": "id.go.egov.test",
    "fields": [
        {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "id"},
        {"name": "region_code", "type": "string", "doc": "Kemendagri code"},
        {"name": "seq", "type": "long", "doc": "sequence number per region"},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 2},
            "doc": "rupiah",
        },
    ],
}

REGIONS = ["11", "32", "32.01", "32.73", "33.74", "51.71", "64.72", "91.03", "94.01", "96.01"]


def test_thousand_records_round_trip_in_order_per_key(stack_settings, registry, new_topic) -> None:
    from decimal import Decimal

    topic = new_topic("roundtrip", partitions=4)
    serializer = AvroSerializer(registry, SCHEMA)
    sent: dict[str, list[dict]] = defaultdict(list)
    producer = EgovProducer(stack_settings)
    for i in range(1000):
        region = REGIONS[i % len(REGIONS)]
        value = {
            "event_id": uuid.UUID(int=i + 1),
            "region_code": region,
            "seq": len(sent[region]),
            "amount": Decimal(f"{i}.{i % 100:02d}"),
        }
        sent[region].append(value)
        producer.produce(topic, serializer(value, topic), key=region, headers={"ce_id": str(value["event_id"])})
    producer.flush(timeout=30)

    received: dict[str, list[dict]] = defaultdict(list)
    with EgovConsumer(stack_settings, f"g-{uuid.uuid4().hex}", [topic], AvroDeserializer(registry)) as consumer:
        for record in consumer.records(1000, timeout=60):
            assert record.value.record_name == "id.go.egov.test.RoundTrip"
            assert record.headers["ce_id"] == str(record.value.value["event_id"]).encode()
            received[record.key].append(record.value.value)
        # Exactly those 1,000: nothing more arrives.
        assert consumer.poll(1.0) is None
    assert {k: len(v) for k, v in received.items()} == {k: len(v) for k, v in sent.items()}
    for region, values in sent.items():
        assert received[region] == values, f"order or content differs for region {region}"
