"""The audit chain's digests and records: stable bytes, every change detected, links."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from processors.audit.chain import (MAX_ENTRIES, AuditRecord, build_records, chain_digest, entry_digest)
from processors.audit.exceptions import AuditError
from schemas.signing import SigningKey, raw_public_key

# RFC 8032 test key 1: deterministic signatures (TEST ONLY).
CENTRE = SigningKey("pusat", Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")))
HEADERS = [("ce_id", b"0d4c0f55-4a1f-4c47-9d6e-2f1c7c0b4a11"), ("egov_kid", b"32.01:abcd"), ("egov_sig", b"\x01" * 64)]


def _entries(n: int, start: int = 0) -> list[tuple[int, bytes]]:
    return [(start + i, entry_digest(b"32.01", b"value-%d" % i, HEADERS)) for i in range(n)]


def test_entry_digest_is_the_documented_bytes() -> None:
    lp = lambda b: len(b).to_bytes(4, "big") + b  # noqa: E731
    want = hashlib.sha256(
        b"egov-bus/audit-entry/v1\n" + b"\x01" + lp(b"32.01") + hashlib.sha256(b"v").digest()
        + (2).to_bytes(4, "big") + lp(b"ce_id") + b"\x01" + lp(b"x") + lp(b"empty") + b"\x00").digest()
    assert entry_digest(b"32.01", b"v", [("ce_id", b"x"), ("empty", None)]) == want
    assert entry_digest("32.01", b"v", [("ce_id", "x"), ("empty", None)]) == want  # text and bytes alike


@pytest.mark.parametrize("change", [
    lambda k, v, h: (b"32.02", v, h),
    lambda k, v, h: (None, v, h),
    lambda k, v, h: (k, v + b" ", h),
    lambda k, v, h: (k, None, h),
    lambda k, v, h: (k, v, h[:-1]),
    lambda k, v, h: (k, v, h + [("x", None)]),
    lambda k, v, h: (k, v, [h[1], h[0]] + h[2:]),
    lambda k, v, h: (k, v, h[:2] + [("egov_sig", b"\x02" + b"\x01" * 63)]),
    lambda k, v, h: (k, v, [("ce_iD", h[0][1])] + h[1:]),
])
def test_any_change_of_a_record_changes_its_entry(change) -> None:
    assert entry_digest(*change(b"32.01", b"value", HEADERS)) != entry_digest(b"32.01", b"value", HEADERS)


def test_chain_digest_depends_on_every_entry_offset_and_order() -> None:
    entries = _entries(5)
    d = chain_digest(entries)
    assert d == chain_digest(list(entries))
    assert chain_digest(entries[:2] + [entries[3], entries[2]] + entries[4:]) != d
    assert chain_digest(entries[:4]) != d
    assert chain_digest([(o + 1, e) for o, e in entries]) != d
    assert chain_digest(entries[:2] + [(2, b"\x00" * 32)] + entries[3:]) != d
    assert chain_digest([]) == hashlib.sha256(b"egov-bus/audit-chain/v1\n").digest()


def test_a_record_is_stable_signed_and_parses_back() -> None:
    entries = _entries(3, start=10)
    record = AuditRecord.build("egov.budgeting.events", 4, 0, None, entries, "2026-01-01T00:00:00.000+00:00", CENTRE)
    again = AuditRecord.build("egov.budgeting.events", 4, 0, None, entries, "2026-01-01T00:00:00.000+00:00", CENTRE)
    assert record.encode() == again.encode()  # Ed25519 is deterministic: the same record, the same bytes
    assert (record.first_offset, record.last_offset, record.count, record.key) == (10, 12, 3, "egov.budgeting.events:4")
    assert record.hash == hashlib.sha256(record.canonical()).hexdigest()
    assert record.canonical().startswith(b"egov-bus/audit/v1\n{\"count\":3,\"digest\":")
    parsed = AuditRecord.decode(record.encode())
    assert parsed == record and parsed.problems() == []
    assert parsed.signature_valid(raw_public_key(CENTRE.private_key))
    assert not parsed.signature_valid(raw_public_key(Ed25519PrivateKey.generate()))


@pytest.mark.parametrize("field,value", [
    ("topic", "egov.treasury.events"), ("partition", 5), ("seq", 1), ("prev", "0" * 64), ("first_offset", 11),
    ("count", 2), ("time", "2026-01-01T00:00:00.001+00:00"), ("kid", "pusat:0000000000000000"),
])
def test_changing_a_field_breaks_the_hash_and_the_signature(field, value) -> None:
    record = AuditRecord.build("egov.budgeting.events", 4, 0, None, _entries(3, 10), "2026-01-01T00:00:00.000+00:00",
                               CENTRE)
    data = record.to_json()
    data[field] = value
    changed = AuditRecord.from_json(data)
    assert "its hash does not match its content (the record was changed)" in changed.problems()
    assert not changed.signature_valid(raw_public_key(CENTRE.private_key))


def test_an_entry_changed_in_the_record_is_found() -> None:
    record = AuditRecord.build("t", 0, 0, None, _entries(3), "x", CENTRE)
    data = record.to_json()
    raw = base64.b64decode(data["entries"])
    data["entries"] = base64.b64encode(raw[:32] + b"\x00" * 32 + raw[64:]).decode()
    problems = AuditRecord.from_json(data).problems()
    assert problems == ["its hash does not match its content (the record was changed)",
                        "its digest does not match its entries"]


def test_malformed_records_are_refused() -> None:
    good = AuditRecord.build("t", 0, 0, None, _entries(1), "x", None).to_json()
    assert good["sig"] is None and good["kid"] is None
    with pytest.raises(AuditError, match="fields"):
        AuditRecord.from_json({**good, "extra": 1})
    with pytest.raises(AuditError, match="integers"):
        AuditRecord.from_json({**good, "seq": "0"})
    with pytest.raises(AuditError, match="runs"):
        AuditRecord.from_json({**good, "offsets": [[0]]})
    with pytest.raises(AuditError, match="1 offsets but 31 bytes"):
        AuditRecord.from_json({**good, "entries": base64.b64encode(b"\x00" * 31).decode()}).entry_list()
    with pytest.raises(AuditError, match="malformed audit record"):
        AuditRecord.decode(b"{not json")
    with pytest.raises(AuditError, match="at least one"):
        AuditRecord.build("t", 0, 0, None, [], "x", None)


def test_an_interval_larger_than_a_record_is_split_into_linked_records() -> None:
    entries = _entries(MAX_ENTRIES + 5)
    records = build_records("t", 2, 7, "ab" * 32, entries, "x", CENTRE)
    assert [(r.seq, r.count, r.first_offset, r.last_offset) for r in records] == [
        (7, MAX_ENTRIES, 0, MAX_ENTRIES - 1), (8, 5, MAX_ENTRIES, MAX_ENTRIES + 4)]
    assert records[0].prev == "ab" * 32 and records[1].prev == records[0].hash
