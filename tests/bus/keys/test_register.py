"""The key register on the real broker: written by KeyRegister, read back into a ring, followed while it changes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Producer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bus.keys import KeyRegister, KeyRegisterError
from bus.keys.ring import encode_record
from schemas.signing import KeyRecord, key_id, raw_public_key
from schemas.topic_names import keys_topic

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _record(region: str = "32.01", **fields) -> KeyRecord:
    public = raw_public_key(Ed25519PrivateKey.generate())
    return KeyRecord(key_id(region, public), region, public, T0, **fields)


def test_written_records_read_back_latest_wins_malformed_skipped(stack_settings, keys_prefix) -> None:
    register = KeyRegister(stack_settings, prefix=keys_prefix)
    a, b = _record(), _record("32.73")
    a_ended = KeyRecord(a.key_id, a.region_code, a.public_key, T0, valid_until=T0 + timedelta(days=7))
    register.write(a)
    # Something not written by the register: read past it, never stopped by it.
    raw = Producer(stack_settings.librdkafka_config())
    raw.produce(keys_topic(keys_prefix), key=b"32.01:junk", value=b"{not json")
    assert raw.flush(10) == 0
    register.write(a_ended, b)
    ring = register.read(timeout=15)
    assert ring.records() == [a_ended, b] and ring.skipped == 1


def test_a_following_ring_sees_a_key_registered_after_it_started(stack_settings, keys_prefix) -> None:
    register = KeyRegister(stack_settings, prefix=keys_prefix)
    first, late = _record(), _record("35.78")
    register.write(first)
    with register.follow() as ring:
        assert ring.refresh(15) == 1 and ring.caught_up and ring.lookup(late.key_id) is None
        assert ring.refresh(5) == 0 and ring.caught_up  # nothing new: one round trip, nothing read
        written = time.monotonic()
        register.write(late)
        deadline = written + 10
        while ring.lookup(late.key_id) is None and time.monotonic() < deadline:
            ring.refresh(0.5)
        assert ring.lookup(late.key_id) == late, "a key registered after the ring started was not seen within 10 s"
        assert time.monotonic() - written < 10
        revoked = KeyRecord(late.key_id, "35.78", late.public_key, T0, revoked_at=T0 + timedelta(days=1))
        register.write(revoked, reason="test")
        deadline = time.monotonic() + 10
        while ring.lookup(late.key_id) != revoked and time.monotonic() < deadline:
            ring.refresh(0.5)
        assert ring.lookup(late.key_id) == revoked and ring.reason_of(late.key_id) == "test"


def test_writing_or_reading_a_missing_register_is_refused_and_creates_nothing(stack_settings, admin) -> None:
    prefix = "test.keys.absent"
    register = KeyRegister(stack_settings, prefix=prefix)
    message = r"^the key register test\.keys\.absent\.egov\.keys does not exist: the operator creates it with `egov-bus topics apply`$"
    with pytest.raises(KeyRegisterError, match=message):
        register.write(_record())
    with pytest.raises(KeyRegisterError, match=message):
        register.read(timeout=10)
    assert keys_topic(prefix) not in admin.list_topics(timeout=10).topics


def test_the_register_bytes_are_the_key_record_json(stack_settings, keys_prefix) -> None:
    """What another implementation reads: key = the key id, value = KeyRecord.to_json() as JSON."""
    from confluent_kafka import Consumer, TopicPartition

    record = _record(valid_until=T0 + timedelta(days=30))
    KeyRegister(stack_settings, prefix=keys_prefix).write(record)
    consumer = Consumer(stack_settings.librdkafka_config(**{"group.id": "unused", "enable.auto.commit": False}))
    try:
        consumer.assign([TopicPartition(keys_topic(keys_prefix), 0, 0)])
        deadline = time.monotonic() + 15
        msg = None
        while msg is None and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
        assert msg is not None and msg.error() is None
        assert (msg.key(), msg.value()) == (record.key_id.encode(), encode_record(record))
    finally:
        consumer.close()
