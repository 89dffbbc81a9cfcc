"""On the secured broker: only the operator writes egov.keys; the processors read it; a region does neither."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from confluent_kafka import KafkaError, Producer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bus.keys import KeyRegister, KeyRegisterError
from bus.keys.ring import encode_record
from schemas.signing import KeyRecord, key_id, raw_public_key
from schemas.topic_names import keys_topic

pytestmark = pytest.mark.integration


def _record(region: str) -> KeyRecord:
    public = raw_public_key(Ed25519PrivateKey.generate())
    return KeyRecord(key_id(region, public), region, public, datetime(2026, 1, 1, tzinfo=UTC))


def test_only_the_operator_writes_the_register_and_the_processors_read_it(namespace) -> None:
    region = namespace.policy.region_user("32.01")
    processors = namespace.policy.user("processors")
    namespace.enrol(region)
    namespace.enrol(processors)
    topic = keys_topic(namespace.prefix)
    own = _record("32.01")

    # The broker's own answer to a region that writes a key record, its own region's included.
    outcome: list = []
    producer = Producer(namespace.settings(region).librdkafka_config(**{
        "enable.idempotence": True, "acks": "all", "message.timeout.ms": 10_000}))
    producer.produce(topic, key=own.key_id.encode(), value=encode_record(own),
                     on_delivery=lambda err, _msg: outcome.append(err))
    producer.flush(15)
    assert len(outcome) == 1 and outcome[0] is not None
    assert outcome[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, outcome[0]
    with pytest.raises(KeyRegisterError, match=rf"^user {region} is not authorized to write {topic} "
                                               r"\(TOPIC_AUTHORIZATION_FAILED\): only the operator registers keys$"):
        KeyRegister(namespace.settings(region), prefix=namespace.prefix).write(own)
    # Nor may it read the register (nothing of the centre's is a region's to read).
    with pytest.raises(KeyRegisterError, match=rf"not authorized to read {topic}"):
        KeyRegister(namespace.settings(region), prefix=namespace.prefix).read(timeout=15)

    assert KeyRegister(namespace.stack.operator, prefix=namespace.prefix).register(own) is True
    ring = KeyRegister(namespace.settings(processors, processor_app_id=namespace.app_id),
                       prefix=namespace.prefix).read(timeout=15)
    assert ring.records() == [own]
