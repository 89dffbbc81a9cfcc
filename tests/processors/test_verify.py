"""The centre's verification of a record's proof of origin (processors.verify), without a broker."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import processors.verify as verify_module
from processors.verify import VerificationError, Verifier
from schemas.signing import CENTRE_CODE, KeyRecord, SigningKey, leaf_of, raw_public_key
from tests.processors.messages import Msg

TOPIC = "egov.budgeting.events"
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
KEY_3201 = SigningKey("32.01", Ed25519PrivateKey.generate())
KEY_3273 = SigningKey("32.73", Ed25519PrivateKey.generate())
CENTRE = SigningKey(CENTRE_CODE, Ed25519PrivateKey.generate())


def _record(key: SigningKey, **times) -> KeyRecord:
    return KeyRecord(key.key_id, key.region_code, raw_public_key(key.private_key), times.pop("valid_from", T0), **times)


def _headers(i: int, region: str, ce_time: str = "2026-03-02T01:00:00.000Z") -> list:
    return [("ce_id", f"id-{i}".encode()), ("ce_source", f"/id/go/{region}/simda".encode()),
            ("ce_type", b"id.go.egov.budgeting.BudgetAllocated.v1"), ("ce_time", ce_time.encode()),
            ("ce_specversion", b"1.0")]


def _batch(signer: SigningKey, region: str, n: int = 4, ce_time: str = "2026-03-02T01:00:00.000Z") -> list[Msg]:
    raw = [(f"value-{i}".encode(), _headers(i, region, ce_time)) for i in range(n)]
    leaves = [leaf_of(TOPIC, region.encode(), v, h) for v, h in raw]
    return [Msg(v, region.encode(), h + extra, i) for i, ((v, h), extra) in enumerate(zip(raw, signer.sign_batch(leaves)))]


class Register:
    def __init__(self, *records: KeyRecord) -> None:
        self.records = {r.key_id: r for r in records}
        self.pending: list[KeyRecord] = []
        self.refreshes = 0

    def lookup(self, key_id: str) -> KeyRecord | None:
        return self.records.get(key_id)

    def refresh(self) -> None:
        self.refreshes += 1
        for r in self.pending:
            self.records[r.key_id] = r


def _reason(verifier: Verifier, msg: Msg) -> str | None:
    try:
        verifier.check(TOPIC, "budgeting", msg)
    except VerificationError as exc:
        return exc.reason
    return None


def test_a_signed_batch_verifies_with_one_signature_check(monkeypatch) -> None:
    calls = []
    real = verify_module.verify_batch_signature
    monkeypatch.setattr(verify_module, "verify_batch_signature", lambda *a: calls.append(a) or real(*a))
    register = Register(_record(KEY_3201))
    verifier = Verifier(register.lookup, register.refresh)
    assert [_reason(verifier, m) for m in _batch(KEY_3201, "32.01", 6)] == [None] * 6
    assert len(calls) == 1  # the other five records cost their proof only


def test_each_failure_has_its_reason() -> None:
    register = Register(_record(KEY_3201), _record(KEY_3273, revoked_at=T0 + timedelta(days=1)))
    verifier = Verifier(register.lookup, register.refresh)
    good = _batch(KEY_3201, "32.01")
    # Signed with 32.01's key but keyed (and enveloped) as 32.73.
    assert _reason(verifier, _batch(KEY_3201, "32.73")[0]) == "foreign_key"
    # The value changed after signing.
    tampered = Msg(good[1].value() + b"!", good[1].key(), good[1].headers(), 1)
    assert _reason(verifier, tampered) == "bad_signature"
    # No signature headers at all, or only some of them.
    assert _reason(verifier, Msg(b"v", b"32.01", _headers(9, "32.01"), 9)) == "unsigned"
    assert _reason(verifier, Msg(b"v", b"32.01", good[0].headers()[:-1], 9)) == "malformed"
    # A revoked key accepts nothing, whatever the record's time.
    assert _reason(verifier, _batch(KEY_3273, "32.73", ce_time="2026-03-01T01:00:00.000Z")[0]) == "revoked_key"
    # Signed at a time the key was not valid yet.
    assert _reason(verifier, _batch(KEY_3201, "32.01", ce_time="2026-02-28T23:59:59.999Z")[0]) == "expired_key"
    assert [_reason(verifier, m) for m in good] == [None] * 4


def test_an_unknown_key_is_looked_up_again_once_then_refused() -> None:
    register = Register()
    clock = [100.0]
    verifier = Verifier(register.lookup, register.refresh, clock=lambda: clock[0])
    msg = _batch(KEY_3201, "32.01")[0]
    assert _reason(verifier, msg) == "unknown_key" and register.refreshes == 1
    assert _reason(verifier, msg) == "unknown_key" and register.refreshes == 1  # within the interval: not again
    register.pending.append(_record(KEY_3201))  # registered after the worker started
    clock[0] += verify_module.REFRESH_INTERVAL_S
    assert _reason(verifier, msg) is None and register.refreshes == 2


def test_rotation_both_keys_during_the_overlap_only_the_new_after() -> None:
    old = _record(KEY_3201, valid_until=T0 + timedelta(days=10))
    new_key = SigningKey("32.01", Ed25519PrivateKey.generate())
    new = _record(new_key, valid_from=T0 + timedelta(days=3))
    verifier = Verifier(Register(old, new).lookup)
    during = "2026-03-05T00:00:00.000Z"
    after = "2026-03-12T00:00:00.000Z"
    assert _reason(verifier, _batch(KEY_3201, "32.01", ce_time=during)[0]) is None
    assert _reason(verifier, _batch(new_key, "32.01", ce_time=during)[0]) is None
    assert _reason(verifier, _batch(KEY_3201, "32.01", ce_time=after)[0]) == "expired_key"
    assert _reason(verifier, _batch(new_key, "32.01", ce_time=after)[0]) is None


def test_the_centres_key_vouches_for_any_region() -> None:
    verifier = Verifier(Register(_record(CENTRE)).lookup)
    assert _reason(verifier, _batch(CENTRE, "91.01")[0]) is None


def test_a_failure_is_not_remembered_as_a_success() -> None:
    verifier = Verifier(Register(_record(KEY_3201)).lookup)
    good = _batch(KEY_3201, "32.01", 2)
    forged = Msg(b"forged", b"32.01", good[0].headers(), 0)
    assert _reason(verifier, forged) == "bad_signature"
    assert _reason(verifier, good[0]) is None
    assert _reason(verifier, forged) == "bad_signature"


@pytest.mark.parametrize("bad_time", ["", "yesterday"])
def test_a_record_without_a_readable_time_is_malformed(bad_time: str) -> None:
    verifier = Verifier(Register(_record(KEY_3201)).lookup)
    msg = _batch(KEY_3201, "32.01")[0]
    headers = [(k, bad_time.encode()) if k == "ce_time" else (k, v) for k, v in msg.headers()]
    assert _reason(verifier, Msg(msg.value(), msg.key(), headers, 0)) == "malformed"
