"""The audit chain: what one audit record says and the exact bytes it hashes and signs.

Per theme partition, the processors append one audit record per committed
interval (several when an interval holds more than :data:`MAX_ENTRIES`
records of it) to ``egov.audit.log`` (docs/security.md, "Audit log").

Per consumed record, an **entry digest** (the offset is not in it, so a copy
of a topic can be compared by position)::

    entry = SHA-256( "egov-bus/audit-entry/v1\\n" || opt(key) || SHA-256(value or "")
                     || uint32(number of headers) || for each header, in order: lp(name) || opt(value) )

where ``lp(x)`` is the 4-byte big-endian length then ``x``, and ``opt(x)`` is
``0x00`` for an absent key or header value, else ``0x01 || lp(x)``. The
headers carry the CloudEvents attributes and the region's signature
(``egov_kid``, ``egov_sig``, ``egov_proof``), so all of them are covered.

An audit record's **digest** chains its entries in offset order::

    d0 = SHA-256("egov-bus/audit-chain/v1\\n")
    d(i) = SHA-256( d(i-1) || uint64(offset i) || entry i )      digest = d(count)

The record itself is a JSON object (:class:`AuditRecord`): ``v``, ``topic``,
``partition``, ``seq`` (its place in the partition's chain, from 0),
``prev`` (the previous record's ``hash``, null for the first), ``first_offset``,
``last_offset``, ``count``, ``offsets`` (the entries' offsets as runs
``[first, length]``: consecutive but for transaction markers), ``entries``
(the entry digests concatenated, base64: so a verifier can name the record
that differs), ``digest`` (hex), ``time`` (the
commit's UTC time, ISO 8601), ``kid`` (the centre's key id, or null), then
``hash`` and ``sig``. Its **canonical bytes** are
``"egov-bus/audit/v1\\n" || JSON(every field but hash and sig)`` with sorted
keys, no spaces, ASCII only; ``hash`` is the hex SHA-256 of them, ``sig`` the
centre's Ed25519 signature of them (base64; null when the worker has no
centre key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from processors.audit.exceptions import AuditError
from schemas.signing import SigningKey

VERSION = 1
_ENTRY_DOMAIN = b"egov-bus/audit-entry/v1\n"
_CHAIN_DOMAIN = b"egov-bus/audit-chain/v1\n"
_RECORD_DOMAIN = b"egov-bus/audit/v1\n"
#: Entries per audit record at most (~64 bytes of JSON each: a record stays far below max.message.bytes).
MAX_ENTRIES = 4096
_FIELDS = ("v", "topic", "partition", "seq", "prev", "first_offset", "last_offset", "count", "offsets", "entries",
           "digest", "time", "kid", "hash", "sig")

Entry = tuple[int, bytes]  # (offset, entry digest)
_U32 = struct.Struct(">I").pack
_sha256 = hashlib.sha256


def _lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _opt(data: bytes | str | None) -> bytes:
    if data is None:
        return b"\x00"
    return b"\x01" + _lp(data.encode() if isinstance(data, str) else bytes(data))


def entry_digest(key: bytes | str | None, value: bytes | None,
                 headers: Sequence[tuple[str, bytes | str | None]] | None) -> bytes:
    """The 32-byte digest of one consumed record (see the module doc)."""
    # One buffer, one hash: this runs for every consumed record, in the worker's hot loop.
    headers = headers or ()
    parts = [_ENTRY_DOMAIN, _opt(key), _sha256(value or b"").digest(), _U32(len(headers))]
    for name, raw in headers:
        name_bytes = name.encode()
        parts.append(_U32(len(name_bytes)))
        parts.append(name_bytes)
        if raw is None:
            parts.append(b"\x00")
        else:
            raw = raw.encode() if isinstance(raw, str) else raw
            parts.append(b"\x01")
            parts.append(_U32(len(raw)))
            parts.append(raw)
    return _sha256(b"".join(parts)).digest()


def entry_of(msg: Any) -> Entry:
    """``(offset, entry digest)`` of a consumed confluent-kafka message (or anything with its methods)."""
    return msg.offset(), entry_digest(msg.key(), msg.value(), msg.headers())


def chain_digest(entries: Iterable[Entry]) -> bytes:
    """The digest chaining ``entries`` in the order given (see the module doc)."""
    d = hashlib.sha256(_CHAIN_DOMAIN).digest()
    for offset, entry in entries:
        d = hashlib.sha256(d + struct.pack(">Q", offset) + entry).digest()
    return d


def b64decode_strict(text: Any, what: str) -> bytes:
    """Base64 that re-encodes to exactly ``text`` (no second spelling of the same bytes is accepted)."""
    if not isinstance(text, str):
        raise AuditError(f"{what}: base64 text expected")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AuditError(f"{what}: not base64") from None
    if base64.b64encode(raw).decode() != text:
        raise AuditError(f"{what}: not canonical base64")
    return raw


def hexdecode_strict(text: Any, what: str, size: int = 32) -> bytes:
    if not isinstance(text, str) or len(text) != 2 * size or text != text.lower():
        raise AuditError(f"{what}: {size}-byte lowercase hex expected")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise AuditError(f"{what}: not hex") from None


@dataclass
class AuditRecord:
    """One link of a theme partition's chain (see the module doc for every field)."""

    topic: str
    partition: int
    seq: int
    prev: str | None
    first_offset: int
    last_offset: int
    count: int
    offsets: list[list[int]] = field(default_factory=list)  # runs [first offset, length]
    entries: str = ""  # base64 of the entry digests, concatenated
    digest: str = ""
    time: str = ""
    kid: str | None = None
    hash: str = ""
    sig: str | None = None
    v: int = VERSION

    # -- building --------------------------------------------------------------------

    @classmethod
    def build(cls, topic: str, partition: int, seq: int, prev: str | None, entries: Sequence[Entry], time: str,
              key: SigningKey | None) -> "AuditRecord":
        """The record of ``entries`` (at least one, offset order), hashed and, with ``key``, signed."""
        if not entries:
            raise AuditError("an audit record covers at least one record")
        runs: list[list[int]] = []
        for offset, _ in entries:
            if runs and runs[-1][0] + runs[-1][1] == offset:
                runs[-1][1] += 1
            else:
                runs.append([offset, 1])
        record = cls(topic=topic, partition=partition, seq=seq, prev=prev, first_offset=entries[0][0],
                     last_offset=entries[-1][0], count=len(entries), offsets=runs,
                     entries=base64.b64encode(b"".join(e for _, e in entries)).decode(),
                     digest=chain_digest(entries).hex(), time=time, kid=key.key_id if key else None)
        canonical = record.canonical()
        record.hash = hashlib.sha256(canonical).hexdigest()
        record.sig = base64.b64encode(key.private_key.sign(canonical)).decode() if key else None
        return record

    @property
    def key(self) -> str:
        """The record's Kafka key, ``<topic>:<partition>``: one chain per key."""
        return f"{self.topic}:{self.partition}"

    def canonical(self) -> bytes:
        """The bytes ``hash`` digests and ``sig`` signs."""
        data = self.to_json()
        del data["hash"], data["sig"]
        return _RECORD_DOMAIN + json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    def to_json(self) -> dict:
        # Not dataclasses.asdict: its deep copy of the entries costs more than the hashing.
        return {name: getattr(self, name) for name in _FIELDS}

    def encode(self) -> bytes:
        """The record's value in ``egov.audit.log``."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    @classmethod
    def from_json(cls, data: Any) -> "AuditRecord":
        """Parse a record; :class:`AuditError` when a field is missing, extra or of the wrong type."""
        if not isinstance(data, dict) or set(data) != set(_FIELDS):
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise AuditError(f"malformed audit record: fields {got}, expected {sorted(_FIELDS)}")
        ints = ("v", "partition", "seq", "first_offset", "last_offset", "count")
        if any(type(data[k]) is not int for k in ints):
            raise AuditError(f"malformed audit record: {', '.join(ints)} must be integers")
        texts = ("topic", "entries", "digest", "time", "hash")
        optional = ("prev", "kid", "sig")
        if any(not isinstance(data[k], str) for k in texts) or any(
                data[k] is not None and not isinstance(data[k], str) for k in optional):
            raise AuditError("malformed audit record: a text field is not text")
        runs = data["offsets"]
        if not isinstance(runs, list) or not all(
                isinstance(r, list) and len(r) == 2 and all(type(x) is int for x in r) and r[1] > 0 for r in runs):
            raise AuditError("malformed audit record: offsets must be [first offset, length] runs")
        return cls(**data)

    def offsets_held(self) -> set[int]:
        """The offsets of the records this audit record covers."""
        return {first + i for first, length in self.offsets for i in range(length)}

    @classmethod
    def decode(cls, raw: bytes) -> "AuditRecord":
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise AuditError(f"malformed audit record: {exc}") from None
        return cls.from_json(data)

    # -- checking ----------------------------------------------------------------------

    def entry_list(self) -> list[Entry]:
        """The entries as ``(offset, digest)``; :class:`AuditError` when one is not a 32-byte digest."""
        raw = b64decode_strict(self.entries, f"audit record {self.key}#{self.seq}: entries")
        offsets = [first + i for first, length in self.offsets for i in range(length)]
        if len(raw) != 32 * len(offsets):
            raise AuditError(f"audit record {self.key}#{self.seq}: {len(offsets)} offsets but {len(raw)} bytes of "
                             "entry digests")
        return [(o, raw[32 * i:32 * i + 32]) for i, o in enumerate(offsets)]

    def problems(self) -> list[str]:
        """What is inconsistent inside the record itself (its hash, digest, counts); empty when nothing."""
        found = []
        if self.v != VERSION:
            found.append(f"version {self.v}, expected {VERSION}")
        if hashlib.sha256(self.canonical()).hexdigest() != self.hash:
            found.append("its hash does not match its content (the record was changed)")
        try:
            entries = self.entry_list()
        except AuditError as exc:
            return found + [str(exc)]
        if chain_digest(entries).hex() != self.digest:
            found.append("its digest does not match its entries")
        offsets = [o for o, _ in entries]
        if (len(entries) != self.count or not entries or offsets[0] != self.first_offset
                or offsets[-1] != self.last_offset or any(b <= a for a, b in zip(offsets, offsets[1:]))):
            found.append("its count, offset range and entries disagree")
        return found

    def signature_valid(self, public_key: bytes) -> bool:
        """Whether ``sig`` is the Ed25519 signature of the canonical bytes by ``public_key``."""
        if self.sig is None:
            return False
        try:
            signature = b64decode_strict(self.sig, "sig")
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, self.canonical())
            return True
        except (AuditError, InvalidSignature, ValueError):
            return False


def build_records(topic: str, partition: int, seq: int, prev: str | None, entries: Sequence[Entry], time: str,
                  key: SigningKey | None) -> list[AuditRecord]:
    """The records of one interval of a partition: chunks of at most :data:`MAX_ENTRIES`, linked in order."""
    out = []
    for start in range(0, len(entries), MAX_ENTRIES):
        record = AuditRecord.build(topic, partition, seq, prev, entries[start:start + MAX_ENTRIES], time, key)
        out.append(record)
        seq, prev = seq + 1, record.hash
    return out


__all__ = ["AuditRecord", "Entry", "MAX_ENTRIES", "VERSION", "entry_digest", "entry_of", "chain_digest",
           "build_records", "b64decode_strict", "hexdecode_strict"]
