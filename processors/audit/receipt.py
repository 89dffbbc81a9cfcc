"""Receipts: one event, its region's signature, its audit record and the public keys, checkable offline.

A receipt is a JSON file (``egov-bus audit receipt``) written in one
canonical form (sorted keys, two-space indent, ASCII, a final newline)::

    {"receipt": "egov-bus/receipt/v1",
     "event": {"topic", "partition", "offset", "key", "value", "headers": [[name, value], ...]},
     "audit": <the audit record, as in egov.audit.log>,
     "keys": [{"key_id", "region_code", "public_key"}, ...]}

(``key``, ``value`` and header values base64, or null). :func:`check_receipt`
needs nothing but the file: the file must be in that canonical form, every
base64 text canonical and every field expected (so no byte can change
without changing what is checked); the region's key must have signed the
event (its leaf, Merkle proof and batch signature, :mod:`schemas.signing`);
the event's entry must be in the audit record at its offset; the record's
digest, hash and the centre's signature must hold; each key id must be the
id of its public key and region, and the keys must be exactly the two used.
A receipt proves that the region's key signed the event and that the centre
accepted it at the audit record's time. That the key was valid then is the
register's record (the centre checked it before it counted the event).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from processors.audit.chain import AuditRecord, b64decode_strict, entry_digest
from processors.audit.exceptions import AuditError, ReceiptError
from schemas.cloudevents import HEADER_ID
from schemas.signing import (CENTRE_CODE, KeyRecord, SignatureError, key_id, leaf_of, read_signature,
                             verify_batch_signature)

VERSION = "egov-bus/receipt/v1"
_EVENT_FIELDS = {"topic", "partition", "offset", "key", "value", "headers"}
_KEY_FIELDS = {"key_id", "region_code", "public_key"}


def _b64(raw: bytes | str | None) -> str | None:
    if raw is None:
        return None
    return base64.b64encode(raw.encode() if isinstance(raw, str) else bytes(raw)).decode()


def build_receipt(msg: Any, audit: AuditRecord, keys: list[KeyRecord]) -> dict:
    """The receipt of a consumed record ``msg`` audited in ``audit``, with the public ``keys`` it needs."""
    return {
        "receipt": VERSION,
        "event": {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(), "key": _b64(msg.key()),
                  "value": _b64(msg.value()), "headers": [[name, _b64(value)] for name, value in msg.headers() or ()]},
        "audit": audit.to_json(),
        "keys": [{"key_id": k.key_id, "region_code": k.region_code, "public_key": _b64(k.public_key)}
                 for k in sorted({k.key_id: k for k in keys}.values(), key=lambda k: k.key_id)],
    }


def dumps(receipt: dict) -> str:
    """The canonical text of a receipt (what :func:`check_receipt` requires byte for byte)."""
    return json.dumps(receipt, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def _opt_b64(value: Any, what: str) -> bytes | None:
    return None if value is None else b64decode_strict(value, what)


def check_receipt(text: bytes) -> str:
    """One line saying what a valid receipt proves; :class:`ReceiptError` with the reason otherwise."""
    try:
        return _check(text)
    except ReceiptError:
        raise
    except (AuditError, SignatureError) as exc:
        raise ReceiptError(str(exc)) from None


def _check(text: bytes) -> str:
    try:
        receipt = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReceiptError(f"not a receipt: {exc}") from None
    if not isinstance(receipt, dict) or set(receipt) != {"receipt", "event", "audit", "keys"}:
        raise ReceiptError("not a receipt: fields receipt, event, audit and keys expected")
    if dumps(receipt).encode() != text:
        raise ReceiptError("not in the canonical form `egov-bus audit receipt` writes (the file was changed)")
    if receipt["receipt"] != VERSION:
        raise ReceiptError(f"unknown receipt version {receipt['receipt']!r}")
    event = receipt["event"]
    if not isinstance(event, dict) or set(event) != _EVENT_FIELDS:
        raise ReceiptError(f"the event needs exactly the fields {sorted(_EVENT_FIELDS)}")
    topic, partition, offset = event["topic"], event["partition"], event["offset"]
    if not isinstance(topic, str) or type(partition) is not int or type(offset) is not int:
        raise ReceiptError("the event's topic, partition or offset is malformed")
    key = _opt_b64(event["key"], "event key")
    value = _opt_b64(event["value"], "event value")
    if not isinstance(event["headers"], list) or not all(
            isinstance(h, list) and len(h) == 2 and isinstance(h[0], str) for h in event["headers"]):
        raise ReceiptError("the event's headers must be [name, base64] pairs")
    headers = [(name, _opt_b64(raw, f"header {name}")) for name, raw in event["headers"]]

    keys: dict[str, tuple[str, bytes]] = {}
    if not isinstance(receipt["keys"], list):
        raise ReceiptError("keys must be a list")
    for entry in receipt["keys"]:
        if not isinstance(entry, dict) or set(entry) != _KEY_FIELDS or not all(isinstance(entry[f], str) for f in _KEY_FIELDS):
            raise ReceiptError(f"a key needs exactly the text fields {sorted(_KEY_FIELDS)}")
        public = b64decode_strict(entry["public_key"], f"public key {entry['key_id']}")
        if len(public) != 32 or key_id(entry["region_code"], public) != entry["key_id"]:
            raise ReceiptError(f"key {entry['key_id']}: the id is not its public key's and region's")
        if entry["key_id"] in keys:
            raise ReceiptError(f"key {entry['key_id']} is listed twice")
        keys[entry["key_id"]] = (entry["region_code"], public)

    # The region's proof of origin.
    signature = read_signature(headers)
    if signature is None:
        raise ReceiptError("the event carries no signature")
    if signature.key_id not in keys:
        raise ReceiptError(f"the receipt lacks the event's key {signature.key_id}")
    region, public = keys[signature.key_id]
    record_region = key.decode("utf-8", "replace") if key is not None else None
    if region not in (record_region, CENTRE_CODE):
        raise ReceiptError(f"the event of {record_region} is signed by a key of {region}")
    root = signature.root(leaf_of(topic, key, value, headers))
    if not verify_batch_signature(public, root, signature.size, signature.signature):
        raise ReceiptError(f"the region's signature ({signature.key_id}) does not match the event")

    # Its place in the centre's audit chain.
    audit = AuditRecord.from_json(receipt["audit"])
    problems = audit.problems()
    if problems:
        raise ReceiptError(f"audit record #{audit.seq}: {problems[0]}")
    if (audit.topic, audit.partition) != (topic, partition):
        raise ReceiptError(f"the audit record is of {audit.key}, the event of {topic}:{partition}")
    entries = dict(audit.entry_list())
    if offset not in entries:
        raise ReceiptError(f"offset {offset} is not in the audit record ({audit.first_offset}..{audit.last_offset})")
    if entries[offset] != entry_digest(key, value, headers):
        raise ReceiptError(f"the event differs from what the centre audited at offset {offset}")
    if audit.kid is None or audit.kid not in keys:
        raise ReceiptError("the audit record is unsigned" if audit.kid is None else
                           f"the receipt lacks the centre's key {audit.kid}")
    centre_region, centre_public = keys[audit.kid]
    if centre_region != CENTRE_CODE:
        raise ReceiptError(f"the audit record is signed by a key of {centre_region}, not the centre's")
    if not audit.signature_valid(centre_public):
        raise ReceiptError(f"the centre's signature ({audit.kid}) does not match the audit record")
    if set(keys) != {signature.key_id, audit.kid}:
        raise ReceiptError(f"keys not used by the receipt: {sorted(set(keys) - {signature.key_id, audit.kid})}")
    ce_id = next((raw.decode("utf-8", "replace") for name, raw in headers if name == HEADER_ID and raw), "?")
    return (f"receipt valid: event {ce_id} ({topic}[{partition}]@{offset}, region {record_region}) signed by "
            f"{signature.key_id}; accepted by the centre at {audit.time} (audit record #{audit.seq} of {audit.key}, "
            f"signed by {audit.kid})")


__all__ = ["VERSION", "build_receipt", "dumps", "check_receipt"]
