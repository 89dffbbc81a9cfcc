"""Proof of origin: what a region signs, how a batch is signed once, how one record verifies alone.

The one definition both sides of the bus use (docs/events.md, "Signed records",
spells it out byte by byte for producers in other languages; ``tests/schemas/
signing_vector.json`` is its test vector).

Per record, a **leaf** digest::

    leaf = SHA-256( "egov-bus/record/v1\\n"
                    || lp(topic) || lp(key) || SHA-256(value)
                    || lp(ce_id) || lp(ce_type) || lp(ce_source) || lp(ce_time) )

where ``lp(x)`` is the 4-byte big-endian length of ``x`` followed by ``x``
(UTF-8 for text; the key's raw bytes). A batch of leaves is hashed into a
Merkle tree as in RFC 9162 §2.1 (leaf hash ``SHA-256(0x00 || leaf)``, node
hash ``SHA-256(0x01 || left || right)``, split at the largest power of two
below the size), and the region's Ed25519 key signs once per batch::

    signed message = "egov-bus/batch/v1\\n" || uint32(batch size) || root

Each record carries, in headers, the key id (``egov_kid``), the batch's
signature (``egov_sig``, 64 bytes) and its own inclusion proof
(``egov_proof``: uint32 index, uint32 batch size, then the audit path's
32-byte hashes, RFC 9162 §2.1.3), so a record verifies on its own, and a
verifier that sees a batch's records checks its one signature once.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.cloudevents import HEADER_ID, HEADER_SOURCE, HEADER_TIME, HEADER_TYPE
from schemas.exceptions import SchemaError

HEADER_KEY_ID = "egov_kid"
HEADER_SIGNATURE = "egov_sig"
HEADER_PROOF = "egov_proof"
#: The headers a signed record carries, in this order after the CloudEvents ones.
SIGNATURE_HEADERS = (HEADER_KEY_ID, HEADER_SIGNATURE, HEADER_PROOF)

#: The "region" of the centre's own key (the processors sign audit records and corrected copies with it).
CENTRE_CODE = "pusat"
_CE_SIGNED = (HEADER_ID, HEADER_TYPE, HEADER_SOURCE, HEADER_TIME)
_LEAF_DOMAIN = b"egov-bus/record/v1\n"
_BATCH_DOMAIN = b"egov-bus/batch/v1\n"
_HASH = 32
#: Batches larger than this are split: a proof holds at most 16 hashes (520 bytes).
MAX_BATCH = 65_536


class SignatureError(SchemaError):
    """A record's signature headers are malformed, or the signature does not verify."""


# -- what is signed ----------------------------------------------------------------------


def _lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def record_leaf(topic: str, key: bytes | None, value: bytes | None, ce_id: str, ce_type: str, ce_source: str,
                ce_time: str) -> bytes:
    """The 32-byte digest of one record: what identifies it and its content (see the module doc)."""
    h = hashlib.sha256(_LEAF_DOMAIN)
    h.update(_lp(topic.encode()))
    h.update(_lp(key or b""))
    h.update(hashlib.sha256(value or b"").digest())
    for text in (ce_id, ce_type, ce_source, ce_time):
        h.update(_lp(text.encode()))
    return h.digest()


def leaf_of(topic: str, key: bytes | str | None, value: bytes | None,
            headers: Iterable[tuple[str, bytes | str | None]] | None) -> bytes:
    """:func:`record_leaf` of a record as produced or consumed: its CloudEvents attributes from its headers."""
    ce: dict[str, str] = {}
    for name, raw in headers or ():
        if name in _CE_SIGNED and name not in ce and raw is not None:
            ce[name] = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
    missing = [h for h in _CE_SIGNED if h not in ce]
    if missing:
        raise SignatureError(f"a signed record needs the headers {', '.join(missing)}")
    raw_key = key.encode() if isinstance(key, str) else key
    return record_leaf(topic, raw_key, value, ce[HEADER_ID], ce[HEADER_TYPE], ce[HEADER_SOURCE], ce[HEADER_TIME])


def _leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 Merkle tree hash of ``leaves`` (at least one)."""
    if not leaves:
        raise SignatureError("a batch has at least one record")
    level = [_leaf_hash(leaf) for leaf in leaves]
    return _root_of(level)


def _root_of(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _node(_root_of(hashes[:k]), _root_of(hashes[k:]))


def merkle_paths(leaves: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root and every leaf's audit path (RFC 9162 §2.1.3), computed in one pass."""
    hashes = [_leaf_hash(leaf) for leaf in leaves]
    if not hashes:
        raise SignatureError("a batch has at least one record")
    paths: list[list[bytes]] = [[] for _ in hashes]

    def build(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return hashes[lo]
        mid = lo + _split(hi - lo)
        left, right = build(lo, mid), build(mid, hi)
        for i in range(lo, mid):
            paths[i].append(right)
        for i in range(mid, hi):
            paths[i].append(left)
        return _node(left, right)

    return build(0, len(hashes)), paths


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root that ``leaf`` at ``index`` of ``size`` leaves proves with ``path`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise SignatureError(f"proof index {index} outside a batch of {size}")
    fn, sn = index, size - 1
    r = _leaf_hash(leaf)
    for p in path:
        if sn == 0:
            raise SignatureError("proof longer than the batch's tree")
        if fn & 1 or fn == sn:
            r = _node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise SignatureError("proof shorter than the batch's tree")
    return r


def batch_message(root: bytes, size: int) -> bytes:
    """The bytes the region's key signs for a batch."""
    return _BATCH_DOMAIN + struct.pack(">I", size) + root


def encode_proof(index: int, size: int, path: Sequence[bytes]) -> bytes:
    return struct.pack(">II", index, size) + b"".join(path)


def decode_proof(raw: bytes) -> tuple[int, int, list[bytes]]:
    if len(raw) < 8 or (len(raw) - 8) % _HASH:
        raise SignatureError(f"malformed {HEADER_PROOF} header ({len(raw)} bytes)")
    index, size = struct.unpack_from(">II", raw)
    return index, size, [raw[i:i + _HASH] for i in range(8, len(raw), _HASH)]


# -- keys ----------------------------------------------------------------------------------


def key_id(region_code: str, public_key: bytes) -> str:
    """``<region code>:<16 hex>``: the region and the start of SHA-256 of the raw public key."""
    return f"{region_code}:{hashlib.sha256(public_key).hexdigest()[:16]}"


def raw_public_key(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    """A region's (or the centre's) private key with its id."""

    region_code: str
    private_key: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id(self.region_code, raw_public_key(self.private_key))

    def public_b64(self) -> str:
        return base64.b64encode(raw_public_key(self.private_key)).decode()

    def sign_batch(self, leaves: Sequence[bytes]) -> list[list[tuple[str, bytes]]]:
        """The signature headers of each record of a batch (one signature, one proof each)."""
        out: list[list[tuple[str, bytes]]] = []
        kid = self.key_id.encode()
        for start in range(0, len(leaves), MAX_BATCH):
            chunk = leaves[start:start + MAX_BATCH]
            root, paths = merkle_paths(chunk)
            signature = self.private_key.sign(batch_message(root, len(chunk)))
            out += [[(HEADER_KEY_ID, kid), (HEADER_SIGNATURE, signature), (HEADER_PROOF, encode_proof(i, len(chunk), p))]
                    for i, p in enumerate(paths)]
        return out


@dataclass(frozen=True)
class RecordSignature:
    """The signature headers of one record, parsed."""

    key_id: str
    signature: bytes
    index: int
    size: int
    path: tuple[bytes, ...]

    def root(self, leaf: bytes) -> bytes:
        return root_from_path(leaf, self.index, self.size, self.path)


def read_signature(headers: Iterable[tuple[str, bytes | str | None]] | None) -> RecordSignature | None:
    """The record's signature headers, None when it has none; :class:`SignatureError` when malformed."""
    found: dict[str, bytes] = {}
    for name, value in headers or ():
        if name in SIGNATURE_HEADERS and name not in found and value is not None:
            found[name] = value.encode() if isinstance(value, str) else bytes(value)
    if not found:
        return None
    missing = [h for h in SIGNATURE_HEADERS if h not in found]
    if missing:
        raise SignatureError(f"signature headers incomplete: {', '.join(missing)} missing")
    if len(found[HEADER_SIGNATURE]) != 64:
        raise SignatureError(f"{HEADER_SIGNATURE} must be 64 bytes, got {len(found[HEADER_SIGNATURE])}")
    index, size, path = decode_proof(found[HEADER_PROOF])
    return RecordSignature(found[HEADER_KEY_ID].decode("utf-8", "replace"), found[HEADER_SIGNATURE], index, size,
                           tuple(path))


def verify_batch_signature(public_key: bytes, root: bytes, size: int, signature: bytes) -> bool:
    """Whether ``signature`` is the key's Ed25519 signature of the batch ``root`` of ``size`` records."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, batch_message(root, size))
        return True
    except (InvalidSignature, ValueError):
        return False


# -- the keys' register (egov.keys) ----------------------------------------------------------


@dataclass(frozen=True)
class KeyRecord:
    """One public key in ``egov.keys``: whose it is and when it may sign (``ce_time`` inside it)."""

    key_id: str
    region_code: str
    public_key: bytes
    valid_from: datetime
    valid_until: datetime | None = None
    revoked_at: datetime | None = None

    def valid_at(self, when: datetime) -> bool:
        """A signature with ``ce_time`` = ``when`` is acceptable (a revoked key accepts nothing)."""
        if self.revoked_at is not None:
            return False
        return self.valid_from <= when and (self.valid_until is None or when < self.valid_until)

    def to_json(self) -> dict:
        return {
            "key_id": self.key_id, "region_code": self.region_code,
            "public_key": base64.b64encode(self.public_key).decode(),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> "KeyRecord":
        try:
            public = base64.b64decode(data["public_key"], validate=True)
            record = cls(
                key_id=str(data["key_id"]), region_code=str(data["region_code"]), public_key=public,
                valid_from=datetime.fromisoformat(data["valid_from"]),
                valid_until=datetime.fromisoformat(data["valid_until"]) if data.get("valid_until") else None,
                revoked_at=datetime.fromisoformat(data["revoked_at"]) if data.get("revoked_at") else None,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise SignatureError(f"malformed key record: {exc}") from exc
        if len(public) != 32:
            raise SignatureError(f"key record {record.key_id}: an Ed25519 public key is 32 bytes, got {len(public)}")
        if key_id(record.region_code, public) != record.key_id:
            raise SignatureError(f"key record {record.key_id}: the id does not belong to its public key and region")
        for when in (record.valid_from, record.valid_until, record.revoked_at):
            if when is not None and when.tzinfo is None:
                raise SignatureError(f"key record {record.key_id}: times must carry a UTC offset")
        return record


__all__ = [
    "CENTRE_CODE", "HEADER_KEY_ID", "HEADER_SIGNATURE", "HEADER_PROOF", "SIGNATURE_HEADERS", "MAX_BATCH", "SignatureError",
    "record_leaf", "leaf_of", "merkle_root", "merkle_paths", "root_from_path", "batch_message", "encode_proof", "decode_proof",
    "key_id", "raw_public_key", "SigningKey", "RecordSignature", "read_signature", "verify_batch_signature",
    "KeyRecord",
]
