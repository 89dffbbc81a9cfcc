"""Writes ``tests/schemas/signing_vector.json``, the test vector of the signed bytes (docs/events.md, "Signed records").

    .venv/bin/python -m tests.schemas.make_signing_vector

Deterministic: a published key seed, fixed records, and Ed25519 signatures are deterministic
(RFC 8032), so the file changes only when the signed-bytes definition in ``schemas/signing.py`` does.
``tests/schemas/test_signing.py`` checks that the code still reproduces it byte for byte, and
``tests/schemas/go_verify`` verifies it with a second implementation (Go's standard library).
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas.signing import (
    HEADER_KEY_ID,
    HEADER_PROOF,
    HEADER_SIGNATURE,
    SigningKey,
    batch_message,
    merkle_paths,
    raw_public_key,
    read_signature,
    record_leaf,
    verify_batch_signature,
)

VECTOR_PATH = Path(__file__).with_name("signing_vector.json")

#: RFC 8032 §7.1, TEST 1: a private key the whole world knows, so it can never be mistaken for a real one.
TEST_ONLY_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
REGION = "32.01"
TOPIC = "egov.budgeting.events"

# Values are opaque to signing (only their SHA-256 enters the leaf); these look like what the SDK
# sends, a Confluent frame (magic byte 0, schema id 7) around an Avro body, but are not decoded.
RECORDS: tuple[dict[str, Any], ...] = (
    {
        "topic": TOPIC, "key": REGION.encode(),
        "value": bytes.fromhex("0000000007") + b"\x48" + b"0a1b2c3d-0000-4000-8000-000000000001" + b"\x0a32.01",
        "ce_id": "0a1b2c3d-0000-4000-8000-000000000001",
        "ce_type": "id.go.egov.budgeting.BudgetAllocated.v1",
        "ce_source": "/id/go/32.01/sipd",
        "ce_time": "2025-03-14T02:30:00.000Z",
    },
    {
        "topic": TOPIC, "key": REGION.encode(),
        "value": bytes.fromhex("0000000007") + b"\x48" + b"0a1b2c3d-0000-4000-8000-000000000002" + b"\x0a32.01",
        "ce_id": "0a1b2c3d-0000-4000-8000-000000000002",
        "ce_type": "id.go.egov.budgeting.BudgetAllocated.v1",
        "ce_source": "/id/go/32.01/sipd",
        "ce_time": "2025-03-14T02:30:00.250Z",
    },
    {
        "topic": TOPIC, "key": REGION.encode(),
        "value": bytes.fromhex("0000000009") + b"\x48" + b"0a1b2c3d-0000-4000-8000-000000000003" + b"\x0a32.01",
        "ce_id": "0a1b2c3d-0000-4000-8000-000000000003",
        "ce_type": "id.go.egov.budgeting.BudgetShiftPosted.v1",
        "ce_source": "/id/go/32.01/simda",
        "ce_time": "2025-03-14T02:31:07.125Z",
    },
)


def _lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def leaf_input(record: dict[str, Any]) -> bytes:
    """The bytes whose SHA-256 is the record's leaf, spelled out from docs/events.md (not taken from the code)."""
    return (b"egov-bus/record/v1\n" + _lp(record["topic"].encode()) + _lp(record["key"])
            + hashlib.sha256(record["value"]).digest()
            + b"".join(_lp(record[f].encode()) for f in ("ce_id", "ce_type", "ce_source", "ce_time")))


def build_vector() -> dict[str, Any]:
    """The vector: inputs, every intermediate, and the headers each record carries."""
    signer = SigningKey(REGION, Ed25519PrivateKey.from_private_bytes(TEST_ONLY_SEED))
    public = raw_public_key(signer.private_key)
    leaves = [record_leaf(r["topic"], r["key"], r["value"], r["ce_id"], r["ce_type"], r["ce_source"], r["ce_time"])
              for r in RECORDS]
    root, paths = merkle_paths(leaves)
    message = batch_message(root, len(leaves))
    headers = signer.sign_batch(leaves)
    signature = dict(headers[0])[HEADER_SIGNATURE]
    if not verify_batch_signature(public, root, len(leaves), signature):
        raise AssertionError("the batch signature does not verify")
    records = []
    for record, leaf, path, hdrs in zip(RECORDS, leaves, paths, headers, strict=True):
        if hashlib.sha256(leaf_input(record)).digest() != leaf:
            raise AssertionError("record_leaf differs from the documented leaf input")
        parsed = read_signature(hdrs)
        if parsed is None or parsed.root(leaf) != root:
            raise AssertionError("a record's proof does not lead to the root")
        h = dict(hdrs)
        records.append({
            "topic": record["topic"],
            "key_hex": record["key"].hex(),
            "value_hex": record["value"].hex(),
            "ce_id": record["ce_id"], "ce_type": record["ce_type"],
            "ce_source": record["ce_source"], "ce_time": record["ce_time"],
            "value_sha256_hex": hashlib.sha256(record["value"]).hexdigest(),
            "leaf_input_hex": leaf_input(record).hex(),
            "leaf_hex": leaf.hex(),
            "leaf_hash_hex": hashlib.sha256(b"\x00" + leaf).hexdigest(),
            "proof": {"index": parsed.index, "size": parsed.size, "path_hex": [p.hex() for p in path]},
            "headers": {
                HEADER_KEY_ID: h[HEADER_KEY_ID].decode(),
                f"{HEADER_SIGNATURE}_hex": h[HEADER_SIGNATURE].hex(),
                f"{HEADER_PROOF}_hex": h[HEADER_PROOF].hex(),
            },
        })
    return {
        "description": "egov-bus signed records, test vector v1: one batch of 3 records signed by region 32.01 "
                       "(docs/events.md, section 'Signed records'). Text fields are UTF-8 strings, bytes are hex.",
        "warning": "TEST ONLY: the private key seed below is public (RFC 8032 section 7.1, TEST 1). "
                   "Never use it, or any key derived from it, to sign real events.",
        "key": {
            "region_code": REGION,
            "test_only_private_seed_hex": TEST_ONLY_SEED.hex(),
            "public_key_hex": public.hex(),
            "key_id": signer.key_id,
        },
        "batch": {
            "size": len(leaves),
            "root_hex": root.hex(),
            "signed_message_hex": message.hex(),
            "signature_hex": signature.hex(),
        },
        "records": records,
    }


def render(vector: dict[str, Any]) -> str:
    """The file's exact text."""
    return json.dumps(vector, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    VECTOR_PATH.write_text(render(build_vector()), encoding="utf-8")
    print(f"wrote {VECTOR_PATH}")


if __name__ == "__main__":
    main()
