"""Private signing key files: owner-only, named after their region, Ed25519 only (no broker)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bus.keys import KeyFileError, load_signing_key, load_signing_keys, write_signing_key
from schemas.signing import CENTRE_CODE, SigningKey, raw_public_key


def _key(region: str = "32.01") -> SigningKey:
    return SigningKey(region, Ed25519PrivateKey.generate())


def test_a_written_key_is_owner_only_and_loads_back(tmp_path: Path) -> None:
    key = _key()
    path = write_signing_key(tmp_path, key)
    assert path == tmp_path / "32.01.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_signing_key(path)
    assert (loaded.region_code, loaded.key_id) == ("32.01", key.key_id)
    assert raw_public_key(loaded.private_key) == raw_public_key(key.private_key)


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    first = write_signing_key(tmp_path, _key())
    before = first.read_bytes()
    with pytest.raises(KeyFileError, match=r"32\.01\.key exists: a region's key is replaced by `egov-bus keys rotate`"):
        write_signing_key(tmp_path, _key())
    assert first.read_bytes() == before


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = write_signing_key(tmp_path, _key())
    path.chmod(mode)
    with pytest.raises(KeyFileError) as info:
        load_signing_key(path)
    assert str(info.value) == f"signing key {path} is readable by others (mode {oct(mode)}); chmod 600 {path}"


@pytest.mark.parametrize("name", ["32.1.key", "99.99.key", "region.key", "32.01.pem", "32.01"])
def test_a_file_not_named_after_a_region_is_refused(tmp_path: Path, name: str) -> None:
    path = write_signing_key(tmp_path, _key())
    wrong = path.rename(tmp_path / name)
    with pytest.raises(KeyFileError, match=r"a signing key file is named <region code>\.key \(e\.g\. 32\.01\.key"):
        load_signing_key(wrong)


def test_the_centre_key_is_named_pusat(tmp_path: Path) -> None:
    path = write_signing_key(tmp_path, _key(CENTRE_CODE))
    assert path.name == "pusat.key" and load_signing_key(path).region_code == CENTRE_CODE


def test_a_key_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = tmp_path / "32.01.key"
    path.write_bytes(pem)
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=r"32\.01\.key holds a ECPrivateKey, not an Ed25519 key$"):
        load_signing_key(path)


def test_garbage_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "32.01.key"
    with pytest.raises(KeyFileError, match=r"cannot read signing key .*32\.01\.key: No such file or directory"):
        load_signing_key(path)
    path.write_bytes(b"not a key")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match=r"32\.01\.key is not an unencrypted PEM private key"):
        load_signing_key(path)


def test_a_directory_maps_each_region_to_its_key(tmp_path: Path) -> None:
    keys = {code: _key(code) for code in ("32.01", "32.73", "35.78")}
    for key in keys.values():
        write_signing_key(tmp_path, key)
    loaded = load_signing_keys(tmp_path)
    assert {c: k.key_id for c, k in loaded.items()} == {c: k.key_id for c, k in keys.items()}
    with pytest.raises(KeyFileError, match="signing keys directory .* does not exist"):
        load_signing_keys(tmp_path / "nowhere")
