"""The centre verifies before it counts, on the secured broker (issue 14's first two acceptance points).

A real `egov-bus process` worker, as the namespace's processors principal,
verifies against the namespace's key register (`<prefix>.egov.keys`, written
by the operator). Around valid records it must dead-letter, with stage
``verify`` and the reason: a record signed with 32.01's key but keyed and
enveloped as 32.73, a record changed after signing, an unsigned one, one
signed with a revoked key, and one signed with a rotated-out key after its
end; records signed with the old and the new key during the overlap count.
The integration index must count exactly the valid records.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from confluent_kafka import Producer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.sdk import Publisher
from adapters.sdk.signer import BatchSigner
from adapters.simulator.generator import generate_events
from bus.keys.register import KeyRegister
from bus.serde import AvroDeserializer, make_registry_client
from processors.dlq import ERROR_HEADERS
from schemas.signing import KeyRecord, SigningKey, raw_public_key
from schemas.topic_names import dlq_topic, theme_topic, view_topic
from tests.fixtures.processors import EGOV, read_topic, wait_until

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
OLD_END = datetime(2026, 6, 1, tzinfo=timezone.utc)


def _key(region: str) -> SigningKey:
    return SigningKey(region, Ed25519PrivateKey.generate())


def _record(key: SigningKey, **times) -> KeyRecord:
    return KeyRecord(key.key_id, key.region_code, raw_public_key(key.private_key), times.pop("valid_from", T0), **times)


def _events(seed: int, n: int, region: str, start: datetime) -> list:
    return list(generate_events(seed, n, regions=region, themes="budgeting", start=start, rate=100))


def _encoded(publisher: Publisher, events: list, signer: BatchSigner | None) -> list[tuple]:
    """(topic, key, value, headers) of events as the SDK encodes them, signed by ``signer`` (None: unsigned)."""
    items = []
    for e in events:
        codec = publisher.builder.codec_of(e)
        key, value, headers = codec.encode_record(e)
        items.append((codec, key, value, list(headers)))
    if signer is not None:
        signer.sign(items)
    return [(codec.topic, key, value, headers) for codec, key, value, headers in items]


@pytest.mark.timeout(600)
def test_the_worker_dead_letters_what_does_not_verify_and_counts_the_rest(namespace, tmp_path) -> None:
    import subprocess

    p = namespace.prefix
    operator = namespace.stack.operator
    k3201, k3273, revoked, old, new = _key("32.01"), _key("32.73"), _key("33.01"), _key("35.78"), _key("35.78")
    KeyRegister(operator, prefix=p).write(
        _record(k3201), _record(k3273), _record(revoked, revoked_at=T0 + timedelta(days=1)),
        _record(old, valid_until=OLD_END), _record(new, valid_from=datetime(2026, 5, 1, tzinfo=timezone.utc)))

    user = namespace.policy.user("processors")
    namespace.enrol(user)
    env = namespace.environ(user)
    env.update(EGOV_PROCESSOR_DATA_DIR=str(tmp_path / "data"), EGOV_VERIFY_SIGNATURES="true")
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([EGOV, "process", "--topic-prefix", p, "--log-level", "info"], stdout=out,
                                  stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        publisher = Publisher(operator.model_copy(update={"schema_auto_register": True,
                                                          "spool_dir": str(tmp_path / "spool")}),
                              source_system="test", component="sig", topic_for=lambda et: theme_topic(et.theme, p),
                              signer=None)
        may = datetime(2026, 5, 10, tzinfo=timezone.utc)
        valid = {
            "32.01": _encoded(publisher, _events(1, 30, "32.01", T0 + timedelta(days=30)), BatchSigner({"32.01": k3201})),
            "35.78/old": _encoded(publisher, _events(2, 10, "35.78", may), BatchSigner({"35.78": old})),
            "35.78/new": _encoded(publisher, _events(3, 10, "35.78", may + timedelta(hours=1)), BatchSigner({"35.78": new})),
        }
        # Signed with 32.01's key, keyed and enveloped as 32.73.
        foreign = _encoded(publisher, _events(4, 3, "32.73", T0 + timedelta(days=30)), BatchSigner({"32.73": k3201}))
        changed = [(t, k, v[:-1] + bytes([v[-1] ^ 0x01]), h) for t, k, v, h in
                   _encoded(publisher, _events(5, 2, "32.01", T0 + timedelta(days=31)), BatchSigner({"32.01": k3201}))]
        unsigned = _encoded(publisher, _events(6, 2, "32.01", T0 + timedelta(days=32)), None)
        by_revoked = _encoded(publisher, _events(7, 2, "33.01", T0 + timedelta(days=30)), BatchSigner({"33.01": revoked}))
        after_end = _encoded(publisher, _events(8, 2, "35.78", OLD_END + timedelta(days=1)), BatchSigner({"35.78": old}))
        publisher.close()

        producer = Producer(operator.librdkafka_config(**{"enable.idempotence": True, "acks": "all"}))
        # Valid records before and after the bad ones, in one partition stream per region.
        ordered = (valid["32.01"][:15] + foreign + changed + unsigned + by_revoked + valid["35.78/old"] + after_end
                   + valid["35.78/new"] + valid["32.01"][15:])
        for topic, key, value, headers in ordered:
            producer.produce(topic, value, key, headers=headers)
        assert producer.flush(30) == 0

        expected_dlq = Counter({"foreign_key": 3, "bad_signature": 2, "unsigned": 2, "revoked_key": 2, "expired_key": 2})

        def dead_letters() -> Counter:
            got = Counter()
            for msg in read_topic(operator, dlq_topic("budgeting", p)):
                headers = dict(msg.headers())
                assert headers[ERROR_HEADERS[2]] == b"verify", headers
                got[headers[ERROR_HEADERS[1]].decode().split(":")[0]] += 1
            return got

        assert wait_until(lambda: worker.poll() is None and dead_letters() == expected_dlq, 180,
                          "the dead letters of stage verify"), log.read_text()[-3000:]

        decode = AvroDeserializer(make_registry_client(operator))

        def counted() -> dict[str, int]:
            rows = {}
            for msg in read_topic(operator, view_topic("integration_index", p)):
                rows[msg.key().decode()] = decode(msg.value()).value["events_total"]
            return rows

        want = {"32.01|budgeting": 30, "35.78|budgeting": 20}
        assert wait_until(lambda: counted() == want, 120, "the integration index of the valid records"), counted()
        assert "verify" not in log.read_text().lower() or "Traceback" not in log.read_text()
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=60)
