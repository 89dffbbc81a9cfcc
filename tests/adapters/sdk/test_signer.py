"""The publisher signs every batch (one signature per region per batch, a proof per record): no broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from adapters.sdk import Publisher
from adapters.sdk.exceptions import SigningKeyMissingError
from adapters.sdk.signer import BatchSigner
from adapters.simulator.generator import generate_events
from bus.keys import write_signing_key
from bus.settings import load_settings
from schemas.signing import SigningKey, leaf_of, raw_public_key, read_signature, verify_batch_signature
from tests.adapters.sdk.fakes import FakeBroker
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY

KEYS = {code: SigningKey(code, Ed25519PrivateKey.generate()) for code in ("32.01", "73.71")}


@pytest.fixture
def settings(tmp_path: Path) -> Any:
    return load_settings(env_file=None, spool_dir=str(tmp_path / "spool"), delivery_timeout_s=5, request_timeout_s=2,
                         pseudonym_key=SecretStr(TEST_PSEUDONYM_KEY), schema_auto_register=True)


def _publisher(settings: Any, broker: FakeBroker, signer: BatchSigner | None, **options: Any) -> Publisher:
    return Publisher(settings, registry=MockSchemaRegistryClient({"url": "mock://signer"}),
                     producer_factory=broker.factory(), probe_interval_s=0.01, max_backoff_s=0.05, signer=signer,
                     **options)


def _verify(topic: str, key: bytes, value: bytes, headers: list) -> str:
    """The key id that signed the record; fails the test if it does not verify on its own."""
    sig = read_signature(headers)
    assert sig is not None, "unsigned record"
    region = sig.key_id.split(":")[0]
    root = sig.root(leaf_of(topic, key, value, headers))
    assert verify_batch_signature(raw_public_key(KEYS[region].private_key), root, sig.size, sig.signature)
    assert key.decode() == region
    return sig.key_id


@pytest.mark.parametrize("confirm", [False, True])
def test_every_record_verifies_alone_and_a_batch_is_signed_once_per_region(settings, confirm: bool) -> None:
    broker = FakeBroker()
    events = list(generate_events(5, 1200, regions="32.01,73.71", themes="complaints,budgeting"))
    publisher = _publisher(settings, broker, BatchSigner(KEYS), confirm=confirm)
    try:
        publisher.publish_many(events)
        publisher.flush(10)
    finally:
        publisher.close()
    assert len(broker.acked) == len(events)
    kids = [_verify(topic, key, value, list(headers)) for topic, key, value, headers in broker.acked]
    assert set(kids) == {KEYS["32.01"].key_id, KEYS["73.71"].key_id}
    # Batches of SIGN_BATCH (512) events, one signature per region in each: a few signatures for 1,200 events.
    signatures = {read_signature(list(h)).signature for _t, _k, _v, h in broker.acked}
    assert 4 <= len(signatures) <= 6


def test_submit_signs_too_and_a_changed_value_no_longer_verifies(settings) -> None:
    broker = FakeBroker()
    publisher = _publisher(settings, broker, BatchSigner(KEYS))
    try:
        waiter = publisher.submit(list(generate_events(6, 10, regions="32.01", themes="complaints")))
        assert waiter.wait(10)
    finally:
        publisher.close()
    topic, key, value, headers = broker.acked[3]
    _verify(topic, key, value, list(headers))
    sig = read_signature(list(headers))
    changed = value[:-1] + bytes([value[-1] ^ 1])
    root = sig.root(leaf_of(topic, key, changed, list(headers)))
    assert not verify_batch_signature(raw_public_key(KEYS["32.01"].private_key), root, sig.size, sig.signature)


def test_an_event_of_a_region_without_a_key_is_refused_before_anything_is_sent(settings) -> None:
    broker = FakeBroker()
    publisher = _publisher(settings, broker, BatchSigner({"32.01": KEYS["32.01"]}))
    try:
        with pytest.raises(SigningKeyMissingError, match="no signing key for region 73.71"):
            publisher.publish_many(list(generate_events(7, 5, regions="73.71", themes="complaints")))
        publisher.flush(5)
    finally:
        publisher.close()
    assert broker.acked == []


def test_keys_come_from_the_settings(settings, tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir()
    for key in KEYS.values():
        write_signing_key(directory, key)
    signer = BatchSigner.from_settings(settings.model_copy(update={"signing_keys_dir": str(directory)}))
    assert signer is not None and set(signer.keys) == {"32.01", "73.71"}
    one = BatchSigner.from_settings(settings.model_copy(update={"signing_key_file": str(directory / "73.71.key")}))
    assert one is not None and list(one.keys) == ["73.71"]
    assert BatchSigner.from_settings(settings) is None
