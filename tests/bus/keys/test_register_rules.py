"""The operator's rules on the register (register, rotate, revoke) over a given ring; writes are captured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bus.keys import KeyRegister, KeyRegisterError, KeyRing
from bus.settings import load_settings
from schemas.signing import KeyRecord, key_id, raw_public_key

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def _record(region: str = "32.01", valid_from: datetime = NOW - timedelta(days=90), **fields) -> KeyRecord:
    public = raw_public_key(Ed25519PrivateKey.generate())
    return KeyRecord(key_id(region, public), region, public, valid_from, **fields)


@pytest.fixture
def register(monkeypatch) -> tuple[KeyRegister, list]:
    reg = KeyRegister(load_settings(env_file=None), prefix="t")
    written: list = []
    monkeypatch.setattr(reg, "write", lambda *records, reason=None: written.append((records, reason)))
    return reg, written


def test_register_writes_a_new_key_once(register) -> None:
    reg, written = register
    record = _record()
    ring = KeyRing()
    assert reg.register(record, ring) is True and written == [((record,), None)]
    assert reg.topic == "t.egov.keys"
    assert reg.register(record, KeyRing([record])) is False and len(written) == 1


def test_register_refuses_clashes_revoked_keys_and_bad_records(register) -> None:
    reg, written = register
    record = _record()
    other_validity = KeyRecord(record.key_id, "32.01", record.public_key, NOW)
    with pytest.raises(KeyRegisterError, match=r"is registered already \(valid from .*\); its validity changes only by"):
        reg.register(other_validity, KeyRing([record]))
    other_key = KeyRecord(record.key_id, "32.01", raw_public_key(Ed25519PrivateKey.generate()), record.valid_from)
    with pytest.raises(KeyRegisterError, match="is registered with another public key"):
        reg.register(other_key, KeyRing([record]))
    revoked = KeyRecord(record.key_id, "32.01", record.public_key, record.valid_from, revoked_at=NOW)
    with pytest.raises(KeyRegisterError, match="a revoked key is never registered again"):
        reg.register(record, KeyRing([revoked]))
    with pytest.raises(KeyRegisterError, match="is not after valid from"):
        reg.register(_record(valid_until=NOW - timedelta(days=100)), KeyRing())
    with pytest.raises(KeyRegisterError, match=r"'99\.99' is not a current Kemendagri region code"):
        reg.register(_record("99.99"), KeyRing())
    assert written == []


def test_rotate_overlaps_the_old_keys_and_leaves_ended_ones(register) -> None:
    reg, written = register
    old = _record()
    ends_sooner = _record(valid_until=NOW + timedelta(days=2))
    expired = _record(valid_until=NOW - timedelta(days=1))
    revoked = _record(revoked_at=NOW - timedelta(days=5))
    elsewhere = _record("32.73")
    new = _record(valid_from=NOW - timedelta(days=1000))
    ring = KeyRing([old, ends_sooner, expired, revoked, elsewhere])
    rotation = reg.rotate(new, timedelta(days=7), now=NOW, ring=ring)
    assert rotation.new == KeyRecord(new.key_id, "32.01", new.public_key, NOW)
    assert rotation.ended == (KeyRecord(old.key_id, "32.01", old.public_key, old.valid_from,
                                        valid_until=NOW + timedelta(days=7)),)
    # The new key first: the region is never without a valid key.
    assert written == [((rotation.new,), None), (rotation.ended, None)]
    with pytest.raises(KeyRegisterError, match="a rotation brings a new key"):
        reg.rotate(old, timedelta(days=7), now=NOW, ring=ring)


def test_revoke_sets_revoked_at_once(register) -> None:
    reg, written = register
    record = _record()
    revoked = reg.revoke(record.key_id, "key file copied to a shared drive", now=NOW, ring=KeyRing([record]))
    assert revoked.revoked_at == NOW and not revoked.valid_at(NOW - timedelta(days=1))
    assert written == [((revoked,), "key file copied to a shared drive")]
    with pytest.raises(KeyRegisterError, match="was revoked already at 2026-06-01T08:00:00\\+00:00"):
        reg.revoke(record.key_id, None, now=NOW, ring=KeyRing([revoked]))
    with pytest.raises(KeyRegisterError, match=r"key 32\.01:0000000000000000 is not registered in t\.egov\.keys"):
        reg.revoke("32.01:0000000000000000", None, now=NOW, ring=KeyRing())
