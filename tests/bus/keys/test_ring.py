"""The key ring's logic without a broker: latest record wins, states over time, malformed records skipped,
when a following ring reads again (a fake consumer stands in for Kafka)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import KafkaError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bus.keys import FollowingKeyRing, KeyRegisterError, KeyRing, key_state
from bus.keys.ring import REASON_FIELD, encode_record
from schemas.signing import KeyRecord, SigningKey, key_id, raw_public_key

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _record(region: str = "32.01", valid_from: datetime = T0, **fields) -> KeyRecord:
    public = raw_public_key(Ed25519PrivateKey.generate())
    return KeyRecord(key_id(region, public), region, public, valid_from, **fields)


def _raw(record: KeyRecord, reason: str | None = None) -> tuple[bytes, bytes]:
    return record.key_id.encode(), encode_record(record, reason)


def test_lookup_and_keys_of_a_region() -> None:
    a, b, c = _record(), _record(valid_from=T0 + timedelta(days=30)), _record("32.73")
    ring = KeyRing([b, c, a])
    assert ring.lookup(a.key_id) == a and ring.lookup("32.01:0000000000000000") is None
    assert ring.keys_of("32.01") == [a, b]
    assert ring.keys_of("33.74") == []
    assert len(ring) == 3 and a.key_id in ring


def test_the_latest_record_of_a_key_id_wins() -> None:
    first = _record()
    ended = KeyRecord(first.key_id, "32.01", first.public_key, T0, valid_until=T0 + timedelta(days=7))
    ring = KeyRing()
    assert ring.apply_raw(*_raw(first)) and ring.apply_raw(*_raw(ended))
    assert ring.lookup(first.key_id) == ended and len(ring) == 1


def test_rotation_overlap_gives_two_valid_keys_then_only_the_new_one() -> None:
    switch = T0 + timedelta(days=100)
    old = _record(valid_until=switch + timedelta(days=7))
    new = _record(valid_from=switch)
    ring = KeyRing([old, new])
    during = switch + timedelta(days=3)
    assert [r.key_id for r in ring.keys_of("32.01") if r.valid_at(during)] == [old.key_id, new.key_id]
    after = switch + timedelta(days=7)
    assert [r.key_id for r in ring.keys_of("32.01") if r.valid_at(after)] == [new.key_id]
    assert (key_state(old, during), key_state(old, after), key_state(new, after)) == ("valid", "expired", "valid")
    assert key_state(new, switch - timedelta(seconds=1)) == "not yet"


def test_a_revoked_key_accepts_nothing_even_inside_its_validity() -> None:
    record = _record(revoked_at=T0 + timedelta(days=10))
    ring = KeyRing()
    ring.apply_raw(*_raw(record, reason="laptop stolen"))
    kept = ring.lookup(record.key_id)
    assert kept == record and not kept.valid_at(T0 + timedelta(days=1))
    assert key_state(kept, T0 + timedelta(days=1)) == "revoked"
    assert ring.reason_of(record.key_id) == "laptop stolen"
    assert json.loads(encode_record(record, "laptop stolen"))[REASON_FIELD] == "laptop stolen"


def test_encode_record_is_the_key_record_json() -> None:
    record = _record(valid_until=T0 + timedelta(days=1))
    assert KeyRecord.from_json(json.loads(encode_record(record))) == record
    assert encode_record(record) == encode_record(record)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (b"{not json", "Expecting property name"),
        (b"[1, 2]", "a JSON object expected, got list"),
        (b'{"key_id": "32.01:00"}', "malformed key record: 'public_key'"),
        ("other-key", "the id does not belong to its public key and region"),
        ("naive-time", "times must carry a UTC offset"),
        ("wrong-kafka-key", "under the Kafka key"),
    ],
)
def test_a_malformed_record_is_skipped_and_logged_never_raised(value, why: str, caplog) -> None:
    good = _record()
    key = good.key_id.encode()
    if value == "other-key":
        data = good.to_json() | {"key_id": "32.01:0123456789abcdef"}
        key, value = b"32.01:0123456789abcdef", json.dumps(data).encode()
    elif value == "naive-time":
        value = json.dumps(good.to_json() | {"valid_from": "2026-01-01T00:00:00"}).encode()
    elif value == "wrong-kafka-key":
        key, value = b"32.01:ffffffffffffffff", encode_record(good)
    ring = KeyRing([good])
    with caplog.at_level(logging.WARNING, logger="egov.keys"):
        assert ring.apply_raw(key, value, "egov.keys[0]@7") is False
    assert ring.records() == [good] and ring.skipped == 1
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith("egov.keys[0]@7: skipped a malformed key record: ") and why in message


def test_a_tombstone_forgets_the_key() -> None:
    record = _record()
    ring = KeyRing([record])
    assert ring.apply_raw(record.key_id.encode(), None)
    assert ring.lookup(record.key_id) is None


# -- a following ring over a fake consumer ---------------------------------------------------


class _Msg:
    def __init__(self, offset: int, key: bytes | None, value: bytes | None, error: KafkaError | None = None) -> None:
        self._offset, self._key, self._value, self._error = offset, key, value, error

    def error(self):
        return self._error

    def key(self):
        return self._key

    def value(self):
        return self._value

    def offset(self):
        return self._offset

    def partition(self):
        return 0


class _Partition:
    error = None


class _Topic:
    def __init__(self, error=None) -> None:
        self.partitions = {0: _Partition()}
        self.error = error


class FakeConsumer:
    """One partition of ``topic``: ``log`` is what was written; ``deliver`` how many records a consume hands out."""

    def __init__(self, clock, topic: str = "egov.keys", deliver: int = 500, error=None) -> None:
        self.topic, self.log, self.clock = topic, [], clock
        self.deliver, self.error = deliver, error
        self.position_ = None
        self.assigned: list = []
        self.metadata_calls = 0

    def list_topics(self, topic=None, timeout=None):
        self.metadata_calls += 1
        meta = type("M", (), {})()
        meta.topics = {self.topic: _Topic(self.error)} if self.topic else {}
        return meta

    def get_watermark_offsets(self, tp, timeout=None, cached=False):
        return 0, len(self.log)

    def incremental_assign(self, tps):
        self.assigned += tps
        self.position_ = max(0, tps[0].offset)  # OFFSET_BEGINNING: the log's start

    def consume(self, num_messages=1, timeout=None):
        start = self.position_
        out = [_Msg(i, *self.log[i]) for i in range(start, min(len(self.log), start + min(num_messages, self.deliver)))]
        if not out:
            self.clock.now += timeout  # an empty fetch waits its timeout
        self.position_ = start + len(out)
        return out

    def position(self, tps):
        from confluent_kafka import TopicPartition

        return [TopicPartition(self.topic, 0, self.position_)]

    def close(self):
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_refresh_reads_only_what_is_new(clock) -> None:
    consumer = FakeConsumer(clock)
    a, b = _record(), _record("32.73")
    consumer.log.append(_raw(a))
    ring = FollowingKeyRing(consumer, "egov.keys", clock=clock)
    assert ring.refresh(1.0) == 1 and ring.caught_up and ring.records() == [a]
    assert ring.refresh(1.0) == 0 and ring.caught_up
    consumer.log += [_raw(b), (b"junk", b"{")]
    assert ring.refresh(1.0) == 1 and ring.caught_up
    assert {r.key_id for r in ring.records()} == {a.key_id, b.key_id} and ring.skipped == 1
    assert len(consumer.assigned) == 1  # assigned once, read on from where it stopped


def test_refresh_never_blocks_longer_than_its_timeout(clock) -> None:
    consumer = FakeConsumer(clock, deliver=0)  # the broker hands out nothing
    consumer.log.append(_raw(_record()))
    ring = FollowingKeyRing(consumer, "egov.keys", clock=clock)
    start = clock.now
    assert ring.refresh(0.5) == 0
    assert not ring.caught_up and clock.now - start <= 0.5 + 1e-9


def test_an_unknown_key_id_asks_for_one_refresh_at_most_once_a_gap(clock) -> None:
    consumer = FakeConsumer(clock)
    ring = FollowingKeyRing(consumer, "egov.keys", refresh_interval_s=5.0, unknown_refresh_gap_s=1.0, clock=clock)
    ring.refresh(1.0)
    late = _record()
    consumer.log.append(_raw(late))  # registered after the worker started
    clock.now += 1.0
    assert ring.needs_refresh_for(late.key_id) is True
    ring.refresh(1.0)
    assert ring.lookup(late.key_id) == late and ring.needs_refresh_for(late.key_id) is False
    clock.now += 0.5
    assert ring.needs_refresh_for("32.01:0000000000000001") is False  # within the gap: no second round trip
    clock.now += 0.5
    assert ring.needs_refresh_for("32.01:0000000000000001") is True
    ring.refresh(1.0)
    clock.now += 2.0
    assert ring.needs_refresh_for("32.01:0000000000000001") is False  # that id asked once already
    assert ring.refresh_due() is False
    clock.now += 3.0
    assert ring.refresh_due() is True


def test_a_missing_or_refused_topic_is_a_register_error(clock) -> None:
    missing = FakeConsumer(clock, topic="")
    with pytest.raises(KeyRegisterError, match=r"^the key register egov\.keys does not exist: the operator creates it "
                                               r"with `egov-bus topics apply`$"):
        FollowingKeyRing(missing, "egov.keys", clock=clock).refresh(1.0)
    refused = FakeConsumer(clock, error=KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    with pytest.raises(KeyRegisterError, match=r"^not authorized to read egov\.keys \(TOPIC_AUTHORIZATION_FAILED\)"):
        FollowingKeyRing(refused, "egov.keys", clock=clock).refresh(1.0)


def test_the_ring_serves_a_verifier_lookup_and_refresh(clock) -> None:
    """The processors' verifier takes ``lookup`` and a no-argument ``refresh``."""
    consumer = FakeConsumer(clock)
    ring = FollowingKeyRing(consumer, "egov.keys", default_timeout_s=1.0, clock=clock)
    key = SigningKey("32.01", Ed25519PrivateKey.generate())
    record = KeyRecord(key.key_id, "32.01", raw_public_key(key.private_key), T0)
    consumer.log.append(_raw(record))
    ring.refresh()
    assert ring.lookup(key.key_id) == record


def test_drain_applies_what_was_fetched_without_a_round_trip(clock) -> None:
    consumer = FakeConsumer(clock)
    ring = FollowingKeyRing(consumer, "egov.keys", clock=clock)
    assert ring.drain() == 0  # nothing assigned yet: nothing to drain, nothing asked
    ring.refresh(1.0)
    calls = consumer.metadata_calls
    late = _record()
    consumer.log.append(_raw(late))
    start = clock.now
    assert ring.drain() == 1 and ring.lookup(late.key_id) == late
    assert clock.now == start and consumer.metadata_calls == calls


def test_a_broker_that_does_not_answer_in_time_is_no_error(clock) -> None:
    from confluent_kafka import KafkaException

    consumer = FakeConsumer(clock)

    def slow(*_args, **_kwargs):
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT))

    consumer.get_watermark_offsets = slow
    ring = FollowingKeyRing(consumer, "egov.keys", clock=clock)
    assert ring.refresh(0.2) == 0 and ring.caught_up is False
