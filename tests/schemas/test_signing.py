"""schemas/signing.py: the signed bytes, RFC 9162 Merkle batches and proofs, the headers, the keys' register."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas import signing
from schemas.exceptions import SchemaError
from schemas.signing import (
    HEADER_KEY_ID,
    HEADER_PROOF,
    HEADER_SIGNATURE,
    KeyRecord,
    SignatureError,
    SigningKey,
    decode_proof,
    encode_proof,
    key_id,
    merkle_paths,
    merkle_root,
    raw_public_key,
    read_signature,
    record_leaf,
    root_from_path,
    verify_batch_signature,
)
from tests.schemas import make_signing_vector

SIZES = range(1, 71)
LARGE_SIZES = (127, 128, 129, 1000, 1024, 1025, 4097)


def _leaves(n: int) -> list[bytes]:
    # Distinct leaves: with equal ones a wrong index could legitimately prove the same root.
    return [hashlib.sha256(b"leaf %d" % i).digest() for i in range(n)]


def _key(seed: int = 1) -> SigningKey:
    return SigningKey("32.01", Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


# -- RFC 9162 §2.1, written out as the RFC defines it, to check the code against ------------------


def _rfc_k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _rfc_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1."""
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _rfc_k(len(d))
    return hashlib.sha256(b"\x01" + _rfc_mth(d[:k]) + _rfc_mth(d[k:])).digest()


def _rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    if len(d) == 1:
        return []
    k = _rfc_k(len(d))
    if m < k:
        return _rfc_path(m, d[:k]) + [_rfc_mth(d[k:])]
    return _rfc_path(m - k, d[k:]) + [_rfc_mth(d[:k])]


def _proves(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    try:
        return root_from_path(leaf, index, size, path) == root
    except SignatureError:
        return False


@pytest.mark.parametrize("n", SIZES)
def test_root_and_paths_are_rfc9162(n):
    leaves = _leaves(n)
    root, paths = merkle_paths(leaves)
    assert root == _rfc_mth(leaves)
    assert merkle_root(leaves) == root
    assert paths == [_rfc_path(m, leaves) for m in range(n)]


@pytest.mark.parametrize("n", [*SIZES, *LARGE_SIZES])
def test_every_leaf_path_reproduces_the_root(n):
    leaves = _leaves(n)
    root, paths = merkle_paths(leaves)
    assert len(paths) == n
    for i, (leaf, path) in enumerate(zip(leaves, paths, strict=True)):
        assert root_from_path(leaf, i, n, path) == root
    if n in LARGE_SIZES:
        assert root == _rfc_mth(leaves)


@pytest.mark.parametrize("n", range(2, 71))
def test_a_wrong_index_or_leaf_does_not_prove(n):
    leaves = _leaves(n)
    root, paths = merkle_paths(leaves)
    for i, path in enumerate(paths):
        for wrong in {(i + 1) % n, (i - 1) % n, n - 1 - i} - {i}:
            assert not _proves(leaves[i], wrong, n, path, root), (i, wrong)
        # The right place but another record's leaf.
        assert not _proves(leaves[(i + 1) % n], i, n, path, root)


@pytest.mark.parametrize("n", range(2, 71))
def test_a_claimed_size_other_than_the_signed_one_fails(n):
    # A left leaf's path is the same in a larger tree, so the path alone cannot pin the size: the
    # signed message carries it, and a record claiming another size fails the signature.
    signer = _key()
    public = raw_public_key(signer.private_key)
    leaves = _leaves(n)
    headers = signer.sign_batch(leaves)
    for i, leaf in enumerate(leaves):
        sig = read_signature(headers[i])
        assert verify_batch_signature(public, sig.root(leaf), n, sig.signature)
        for size in (n - 1, n + 1):
            try:
                root = root_from_path(leaf, i, size, sig.path)
            except SignatureError:
                continue
            assert not verify_batch_signature(public, root, size, sig.signature), (i, size)


@pytest.mark.parametrize("n", range(2, 71))
def test_a_truncated_or_extended_path_is_refused(n):
    leaves = _leaves(n)
    _, paths = merkle_paths(leaves)
    for i, path in enumerate(paths):
        with pytest.raises(SignatureError) as short:
            root_from_path(leaves[i], i, n, path[:-1])
        assert str(short.value) == "proof shorter than the batch's tree"
        with pytest.raises(SignatureError) as long:
            root_from_path(leaves[i], i, n, [*path, path[0]])
        assert str(long.value) == "proof longer than the batch's tree"


@pytest.mark.parametrize("n", range(2, 71))
def test_a_swapped_or_replaced_sibling_does_not_prove(n):
    leaves = _leaves(n)
    root, paths = merkle_paths(leaves)
    stranger = hashlib.sha256(b"not in the tree").digest()
    for i, path in enumerate(paths):
        for level in range(len(path)):
            replaced = [*path[:level], stranger, *path[level + 1:]]
            assert not _proves(leaves[i], i, n, replaced, root), (i, level)
        for level in range(len(path) - 1):
            swapped = [*path[:level], path[level + 1], path[level], *path[level + 2:]]
            assert not _proves(leaves[i], i, n, swapped, root), (i, level)


def test_single_record_batch():
    leaf = _leaves(1)[0]
    root, paths = merkle_paths([leaf])
    assert paths == [[]]
    assert root == hashlib.sha256(b"\x00" + leaf).digest()
    assert root_from_path(leaf, 0, 1, []) == root


@pytest.mark.parametrize(("index", "size"), [(3, 3), (0, 0), (-1, 3)])
def test_an_index_outside_the_batch_is_refused(index, size):
    with pytest.raises(SignatureError) as err:
        root_from_path(_leaves(1)[0], index, size, [])
    assert str(err.value) == f"proof index {index} outside a batch of {size}"


def test_an_empty_batch_is_refused():
    for build in (merkle_root, merkle_paths):
        with pytest.raises(SignatureError) as err:
            build([])
        assert str(err.value) == "a batch has at least one record"
    assert _key().sign_batch([]) == []


def test_signature_error_is_an_egov_error():
    assert issubclass(SignatureError, SchemaError)


# -- the leaf ----------------------------------------------------------------------------------

BASE = {
    "topic": "egov.budgeting.events", "key": b"32.01", "value": b"\x00\x00\x00\x00\x07avro",
    "ce_id": "0a1b2c3d-0000-4000-8000-000000000001", "ce_type": "id.go.egov.budgeting.BudgetAllocated.v1",
    "ce_source": "/id/go/32.01/sipd", "ce_time": "2025-03-14T02:30:00.000Z",
}
CHANGED = {
    "topic": "egov.treasury.events", "key": b"32.73", "value": b"\x00\x00\x00\x00\x07avrp",
    "ce_id": "0a1b2c3d-0000-4000-8000-000000000002", "ce_type": "id.go.egov.budgeting.BudgetShiftPosted.v1",
    "ce_source": "/id/go/32.01/simda", "ce_time": "2025-03-14T02:30:00.001Z",
}


def test_leaf_is_stable_for_equal_input():
    copy = {k: (bytes(bytearray(v)) if isinstance(v, bytes) else "".join(v)) for k, v in BASE.items()}
    assert record_leaf(**BASE) == record_leaf(**copy)
    assert len(record_leaf(**BASE)) == 32


@pytest.mark.parametrize("field", list(BASE))
def test_leaf_changes_with_any_single_field(field):
    assert record_leaf(**{**BASE, field: CHANGED[field]}) != record_leaf(**BASE)


def test_leaf_is_the_documented_bytes():
    record = dict(BASE)
    assert record_leaf(**record) == hashlib.sha256(make_signing_vector.leaf_input(record)).digest()


def test_length_prefixes_keep_field_boundaries():
    # Without the lengths, moving bytes from one field to the next would keep the hash.
    moved = {**BASE, "ce_type": BASE["ce_type"] + "/", "ce_source": BASE["ce_source"][1:]}
    assert record_leaf(**moved) != record_leaf(**BASE)
    assert record_leaf(**{**BASE, "topic": "a", "key": b"bc"}) != record_leaf(**{**BASE, "topic": "ab", "key": b"c"})


def test_an_absent_key_or_value_signs_as_empty_bytes():
    assert record_leaf(**{**BASE, "key": None}) == record_leaf(**{**BASE, "key": b""})
    assert record_leaf(**{**BASE, "value": None}) == record_leaf(**{**BASE, "value": b""})


def test_text_fields_are_utf8():
    record = {**BASE, "ce_source": "/id/go/32.01/sipd-é"}
    assert record_leaf(**record) == hashlib.sha256(make_signing_vector.leaf_input(record)).digest()


# -- signing and the headers ---------------------------------------------------------------------


def test_sign_batch_headers_verify_record_by_record():
    signer = _key()
    leaves = _leaves(5)
    headers = signer.sign_batch(leaves)
    root = merkle_root(leaves)
    public = raw_public_key(signer.private_key)
    assert len(headers) == 5
    for i, (leaf, hdrs) in enumerate(zip(leaves, headers, strict=True)):
        assert [name for name, _ in hdrs] == [HEADER_KEY_ID, HEADER_SIGNATURE, HEADER_PROOF]
        sig = read_signature(hdrs)
        assert (sig.key_id, sig.index, sig.size) == (signer.key_id, i, 5)
        assert sig.root(leaf) == root
        assert verify_batch_signature(public, sig.root(leaf), sig.size, sig.signature)
    assert len({dict(h)[HEADER_SIGNATURE] for h in headers}) == 1


def test_sign_batch_splits_over_max_batch(monkeypatch):
    monkeypatch.setattr(signing, "MAX_BATCH", 4)
    signer = _key()
    public = raw_public_key(signer.private_key)
    leaves = _leaves(10)
    headers = signer.sign_batch(leaves)
    parsed = [read_signature(h) for h in headers]
    assert [(s.index, s.size) for s in parsed] == [(0, 4), (1, 4), (2, 4), (3, 4), (0, 4), (1, 4), (2, 4), (3, 4),
                                                   (0, 2), (1, 2)]
    chunks = [leaves[0:4], leaves[4:8], leaves[8:10]]
    for i, (leaf, sig) in enumerate(zip(leaves, parsed, strict=True)):
        chunk = chunks[i // 4]
        assert sig.root(leaf) == merkle_root(chunk)
        assert verify_batch_signature(public, sig.root(leaf), sig.size, sig.signature)
    assert len({s.signature for s in parsed}) == 3
    # Exactly MAX_BATCH records are one batch.
    assert {read_signature(h).size for h in signer.sign_batch(leaves[:4])} == {4}


def test_verify_batch_signature_refusals():
    signer = _key()
    leaves = _leaves(3)
    root = merkle_root(leaves)
    sig = read_signature(signer.sign_batch(leaves)[0]).signature
    public = raw_public_key(signer.private_key)
    assert verify_batch_signature(public, root, 3, sig)
    assert not verify_batch_signature(public, root, 4, sig)
    assert not verify_batch_signature(public, merkle_root(leaves[:2]), 3, sig)
    assert not verify_batch_signature(raw_public_key(_key(2).private_key), root, 3, sig)
    assert not verify_batch_signature(public[:31], root, 3, sig)
    assert not verify_batch_signature(public, root, 3, bytes([sig[0] ^ 1]) + sig[1:])


def _headers(**over: bytes | str | None) -> list[tuple[str, bytes | str | None]]:
    base = dict(_key().sign_batch(_leaves(3))[1])
    base.update(over)
    return [("ce_id", b"x"), *((k, v) for k, v in base.items())]


def test_read_signature_without_signature_headers():
    assert read_signature(None) is None
    assert read_signature([]) is None
    assert read_signature([("ce_id", b"x"), ("traceparent", b"00-")]) is None


@pytest.mark.parametrize("missing", [HEADER_KEY_ID, HEADER_SIGNATURE, HEADER_PROOF])
def test_read_signature_one_header_missing(missing):
    headers = [(k, v) for k, v in _headers() if k != missing]
    with pytest.raises(SignatureError) as err:
        read_signature(headers)
    assert str(err.value) == f"signature headers incomplete: {missing} missing"


def test_read_signature_header_without_value_counts_as_missing():
    with pytest.raises(SignatureError) as err:
        read_signature(_headers(**{HEADER_PROOF: None}))
    assert str(err.value) == "signature headers incomplete: egov_proof missing"


@pytest.mark.parametrize("length", [0, 63, 65])
def test_read_signature_wrong_signature_length(length):
    with pytest.raises(SignatureError) as err:
        read_signature(_headers(**{HEADER_SIGNATURE: b"\x01" * length}))
    assert str(err.value) == f"egov_sig must be 64 bytes, got {length}"


@pytest.mark.parametrize("length", [0, 7, 9, 8 + 31, 8 + 33])
def test_read_signature_malformed_proof(length):
    with pytest.raises(SignatureError) as err:
        read_signature(_headers(**{HEADER_PROOF: b"\x00" * length}))
    assert str(err.value) == f"malformed egov_proof header ({length} bytes)"


def test_read_signature_parses_exactly():
    signer = _key()
    leaves = _leaves(3)
    _, paths = merkle_paths(leaves)
    sig = read_signature(_headers(**{HEADER_KEY_ID: signer.key_id}))  # a str header value is accepted too
    assert sig.key_id == signer.key_id
    assert (sig.index, sig.size, sig.path) == (1, 3, tuple(paths[1]))
    assert len(sig.signature) == 64


def test_proof_encoding_round_trip():
    path = _leaves(3)
    raw = encode_proof(5, 9, path)
    assert raw[:8] == bytes.fromhex("0000000500000009") and len(raw) == 8 + 3 * 32
    assert decode_proof(raw) == (5, 9, path)
    assert decode_proof(encode_proof(0, 1, [])) == (0, 1, [])


def test_key_id_shape():
    public = bytes(range(32))
    assert key_id("32.01", public) == "32.01:" + hashlib.sha256(public).hexdigest()[:16]
    assert _key().key_id.startswith("32.01:") and len(_key().key_id) == len("32.01:") + 16
    assert base64.b64decode(_key().public_b64()) == raw_public_key(_key().private_key)


# -- the keys' register ----------------------------------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
T1 = datetime(2025, 7, 1, tzinfo=timezone.utc)
US = timedelta(microseconds=1)


def _record(**over) -> KeyRecord:
    public = raw_public_key(_key().private_key)
    fields = {"key_id": key_id("32.01", public), "region_code": "32.01", "public_key": public,
              "valid_from": T0, "valid_until": T1, "revoked_at": None}
    return KeyRecord(**{**fields, **over})


def test_key_record_json_round_trip():
    for record in (_record(), _record(valid_until=None), _record(revoked_at=T1)):
        assert KeyRecord.from_json(record.to_json()) == record
    assert _record().to_json() == {
        "key_id": _record().key_id, "region_code": "32.01", "public_key": _key().public_b64(),
        "valid_from": "2025-01-01T00:00:00+00:00", "valid_until": "2025-07-01T00:00:00+00:00", "revoked_at": None,
    }


def test_key_record_id_must_belong_to_key_and_region():
    other = key_id("32.01", raw_public_key(_key(2).private_key))
    for data in ({**_record().to_json(), "key_id": other}, {**_record().to_json(), "region_code": "32.73"}):
        with pytest.raises(SignatureError) as err:
            KeyRecord.from_json(data)
        assert str(err.value) == f"key record {data['key_id']}: the id does not belong to its public key and region"


def test_key_record_refuses_a_31_byte_key():
    short = raw_public_key(_key().private_key)[:31]
    data = {**_record().to_json(), "public_key": base64.b64encode(short).decode(), "key_id": key_id("32.01", short)}
    with pytest.raises(SignatureError) as err:
        KeyRecord.from_json(data)
    assert str(err.value) == f"key record {data['key_id']}: an Ed25519 public key is 32 bytes, got 31"


@pytest.mark.parametrize("field", ["valid_from", "valid_until", "revoked_at"])
def test_key_record_refuses_naive_times(field):
    data = {**_record().to_json(), field: "2025-03-01T00:00:00"}
    with pytest.raises(SignatureError) as err:
        KeyRecord.from_json(data)
    assert str(err.value) == f"key record {data['key_id']}: times must carry a UTC offset"


@pytest.mark.parametrize(("change", "reason"), [
    ({"public_key": "not base64!"}, "Only base64 data is allowed"),
    ({"public_key": "AAA"}, "Incorrect padding"),
    ({"valid_from": "1 Jan 2025"}, "Invalid isoformat string: '1 Jan 2025'"),
    ({"valid_from": 20250101}, "fromisoformat: argument must be str"),
])
def test_key_record_refuses_malformed_fields(change, reason):
    with pytest.raises(SignatureError) as err:
        KeyRecord.from_json({**_record().to_json(), **change})
    assert str(err.value) == f"malformed key record: {reason}"


def test_key_record_refuses_a_missing_field():
    data = _record().to_json()
    del data["public_key"]
    with pytest.raises(SignatureError) as err:
        KeyRecord.from_json(data)
    assert str(err.value) == "malformed key record: 'public_key'"


def test_valid_at_boundaries():
    record = _record()
    assert not record.valid_at(T0 - US)
    assert record.valid_at(T0)  # valid_from is inclusive
    assert record.valid_at(T1 - US)
    assert not record.valid_at(T1)  # valid_until is exclusive
    # The same instant in another offset (WIB) is the same boundary.
    wib = timezone(timedelta(hours=7))
    assert record.valid_at(T0.astimezone(wib))
    assert not record.valid_at(T1.astimezone(wib))


def test_valid_at_without_end():
    assert _record(valid_until=None).valid_at(datetime(2099, 1, 1, tzinfo=timezone.utc))
    assert not _record(valid_until=None).valid_at(T0 - US)


def test_a_revoked_key_accepts_nothing():
    revoked = _record(revoked_at=T1)
    assert [revoked.valid_at(t) for t in (T0 - US, T0, T0 + timedelta(days=30), T1 - US, T1, T1 + US)] == [False] * 6


# -- the published test vector -----------------------------------------------------------------


def test_code_reproduces_the_published_vector_exactly():
    published = make_signing_vector.VECTOR_PATH.read_text(encoding="utf-8")
    assert make_signing_vector.render(make_signing_vector.build_vector()) == published, (
        "tests/schemas/signing_vector.json no longer matches schemas/signing.py: the signed bytes changed. "
        "Producers in other languages depend on them; if the change is intended, version the domains and "
        "run .venv/bin/python -m tests.schemas.make_signing_vector")


def test_vector_marks_its_key_test_only_and_verifies():
    vector = make_signing_vector.build_vector()
    assert vector["warning"].startswith("TEST ONLY")
    assert vector["key"]["public_key_hex"] == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert vector["batch"]["size"] == len(vector["records"]) == 3
    public = bytes.fromhex(vector["key"]["public_key_hex"])
    for i, rec in enumerate(vector["records"]):
        headers = [(HEADER_KEY_ID, rec["headers"]["egov_kid"].encode()),
                   (HEADER_SIGNATURE, bytes.fromhex(rec["headers"]["egov_sig_hex"])),
                   (HEADER_PROOF, bytes.fromhex(rec["headers"]["egov_proof_hex"]))]
        sig = read_signature(headers)
        leaf = record_leaf(rec["topic"], bytes.fromhex(rec["key_hex"]), bytes.fromhex(rec["value_hex"]), rec["ce_id"],
                           rec["ce_type"], rec["ce_source"], rec["ce_time"])
        assert (sig.key_id, sig.index, sig.size) == (vector["key"]["key_id"], i, 3)
        assert sig.root(leaf).hex() == vector["batch"]["root_hex"]
        assert verify_batch_signature(public, sig.root(leaf), sig.size, sig.signature)
