"""Receipts check offline; one byte changed anywhere, and they do not."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from processors.audit.chain import AuditRecord, entry_of
from processors.audit.exceptions import ReceiptError
from processors.audit.receipt import build_receipt, check_receipt, dumps
from schemas.signing import KeyRecord, SigningKey, leaf_of, raw_public_key
from tests.processors.audit.test_chain import CENTRE
from datetime import datetime, timezone

# RFC 8032 test key 2 (TEST ONLY) as region 32.01's.
REGION = SigningKey("32.01", Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")))
TOPIC = "egov.budgeting.events"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Msg:
    def __init__(self, offset: int, value: bytes, headers: list) -> None:
        self._offset, self._value, self._headers = offset, value, headers

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return 2

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"32.01"

    def value(self) -> bytes:
        return self._value

    def headers(self) -> list:
        return self._headers


def _batch() -> list[Msg]:
    raw = []
    for i in range(3):
        headers = [("ce_id", f"0d4c0f55-4a1f-4c47-9d6e-2f1c7c0b4a1{i}".encode()), ("ce_type", b"id.go.egov.x"),
                   ("ce_source", b"/regions/32.01/sipd"), ("ce_time", b"2026-01-02T00:00:00+00:00")]
        raw.append((b"\x00\x00\x00\x00\x01value-%d" % i, headers))
    signed = REGION.sign_batch([leaf_of(TOPIC, b"32.01", v, h) for v, h in raw])
    return [Msg(40 + i, v, h + s) for i, ((v, h), s) in enumerate(zip(raw, signed))]


def _receipt() -> bytes:
    msgs = _batch()
    audit = AuditRecord.build(TOPIC, 2, 5, "ab" * 32, [entry_of(m) for m in msgs], "2026-01-02T00:00:01.000+00:00",
                              CENTRE)
    keys = [KeyRecord(k.key_id, k.region_code, raw_public_key(k.private_key), T0) for k in (REGION, CENTRE)]
    return dumps(build_receipt(msgs[1], audit, keys)).encode()


def test_a_receipt_checks_offline() -> None:
    assert check_receipt(_receipt()) == (
        f"receipt valid: event 0d4c0f55-4a1f-4c47-9d6e-2f1c7c0b4a11 ({TOPIC}[2]@41, region 32.01) signed by "
        f"{REGION.key_id}; accepted by the centre at 2026-01-02T00:00:01.000+00:00 (audit record #5 of {TOPIC}:2, "
        f"signed by {CENTRE.key_id})")


def test_one_byte_changed_anywhere_and_the_receipt_does_not_check() -> None:
    good = _receipt()
    passed = []
    for i in range(len(good)):
        for flip in (0x01, 0x20):
            bad = good[:i] + bytes([good[i] ^ flip]) + good[i + 1:]
            try:
                check_receipt(bad)
            except ReceiptError:
                continue
            passed.append((i, flip, good[max(0, i - 20):i + 20]))
    assert passed == []


@pytest.mark.parametrize("edit,reason", [
    (lambda r: r["event"].update(offset=40), "differs from what the centre audited at offset 40"),
    (lambda r: r["event"].update(offset=39), "offset 39 is not in the audit record (40..42)"),
    (lambda r: r["keys"].pop(0), "lacks"),
    (lambda r: r["audit"].update(sig=None), "the centre's signature"),
])
def test_consistent_edits_are_refused_with_their_reason(edit, reason) -> None:
    import json

    receipt = json.loads(_receipt())
    edit(receipt)
    with pytest.raises(ReceiptError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_receipt(dumps(receipt).encode())
