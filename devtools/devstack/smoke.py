"""A round trip through a running stack: create a topic, publish, read back.

Used by ``egov-bus dev smoke`` and the first step of ``make demo``; it proves
the broker, the registry and the serde work together.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal

from confluent_kafka.admin import AdminClient, NewTopic

from bus.kafka import EgovConsumer, EgovProducer
from bus.serde import AvroDeserializer, AvroSerializer, make_registry_client
from bus.settings import EgovSettings

SMOKE_TOPIC = "egov.smoke.events"

SAMPLE_SCHEMA = {
    "type": "record",
    "name": "SmokeSample",
    "namespace": "id.go.egov.smoke",
    "doc": "A sample event that only checks the plumbing.",
    "fields": [
        {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "Idempotency key"},
        {"name": "region_code", "type": "string", "doc": "Kemendagri region code"},
        {"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "doc": "UTC"},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 2},
            "doc": "Rupiah",
        },
    ],
}

SAMPLES = [("32", "Jawa Barat", "1500000.00"), ("32.01", "Kabupaten Bogor", "250000.50"), ("94.71", "Kota Jayapura", "99.99")]


def run_smoke(settings: EgovSettings, say: Callable[[str], None] = print) -> int:
    """Publish the samples to a fresh smoke topic and read them back; return the count."""
    admin = AdminClient(settings.librdkafka_config())
    topic = SMOKE_TOPIC
    existing = admin.list_topics(timeout=settings.request_timeout_s).topics
    if topic not in existing:
        admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(timeout=settings.request_timeout_s)
        say(f"created topic {topic}")
    registry = make_registry_client(settings)
    serializer = AvroSerializer(registry, SAMPLE_SCHEMA)
    producer = EgovProducer(settings)
    run_id = uuid.uuid4()
    sent = {}
    for i, (region, name, amount) in enumerate(SAMPLES):
        value = {
            "event_id": uuid.uuid5(run_id, str(i)),
            "region_code": region,
            "occurred_at": datetime.now(timezone.utc).replace(microsecond=0),
            "amount": Decimal(amount),
        }
        sent[value["event_id"]] = value
        producer.produce(topic, serializer(value, topic), key=region)
        say(f"published  {region:<6} {name:<16} Rp{amount:>12}  event_id={value['event_id']}")
    producer.flush()
    say(f"schema subject {serializer.subject(topic)} has id {serializer.schema_id(topic)}")
    got = 0
    with EgovConsumer(settings, f"egov-smoke-{run_id.hex}", [topic], AvroDeserializer(registry)) as consumer:
        deadline_records = 0
        while got < len(sent):
            record = consumer.poll(1.0)
            deadline_records += 1
            if deadline_records > 60:
                break
            if record is None or record.value.value["event_id"] not in sent:
                continue  # earlier runs' samples
            value = record.value.value
            assert value == sent[value["event_id"]], "read back a different value"
            got += 1
            say(
                f"read back  {record.key:<6} partition {record.partition} offset {record.offset}"
                f"  amount Rp{value['amount']}  event_id={value['event_id']}"
            )
    return got
