"""Private signing key files: ``<region code>.key`` (PEM, PKCS#8 Ed25519), owner-only.

The region is the file's name, so a directory of keys (the simulator's, a
gateway serving several regions) maps each region to its key without an
index file. A key file readable by anyone but its owner is refused: a
private key that others can read is no proof of anything.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bus.keys.exceptions import KeyFileError
from bus.private_files import write_private
from schemas import regions
from schemas.signing import CENTRE_CODE, SigningKey

SUFFIX = ".key"
#: The centre's own key (the processors': audit records, corrected copies) is named like a region's.
CENTRE = CENTRE_CODE


def key_file_name(region_code: str) -> str:
    return f"{region_code}{SUFFIX}"


def write_signing_key(directory: Path | str, key: SigningKey) -> Path:
    """Write ``key`` as ``<directory>/<region>.key`` (PEM, owner-only); refuses to overwrite one."""
    path = Path(directory) / key_file_name(key.region_code)
    if path.exists():
        raise KeyFileError(f"{path} exists: a region's key is replaced by `egov-bus keys rotate`, never overwritten",
                           path=str(path))
    pem = key.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    return write_private(path, pem)


def load_signing_key(path: Path | str) -> SigningKey:
    """The region's key from ``<region>.key``; :class:`KeyFileError` naming what is wrong."""
    path = Path(path)
    region_code = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else ""
    found = regions.region(region_code) if region_code and region_code != CENTRE else None
    if region_code != CENTRE and (found is None or found.code != region_code):
        raise KeyFileError(f"{path}: a signing key file is named <region code>.key (e.g. 32.01.key, or "
                           f"{CENTRE}.key for the centre's)", path=str(path))
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read signing key {path}: {exc.strerror}", path=str(path)) from exc
    if stat.S_IMODE(mode) & 0o077 and os.name == "posix":
        raise KeyFileError(f"signing key {path} is readable by others (mode {oct(stat.S_IMODE(mode))}); "
                           f"chmod 600 {path}", path=str(path))
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key: {exc}", path=str(path)) from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(private).__name__}, not an Ed25519 key", path=str(path))
    return SigningKey(region_code, private)


def load_signing_keys(directory: Path | str) -> dict[str, SigningKey]:
    """Every ``<region>.key`` of ``directory``, by region code."""
    root = Path(directory)
    if not root.is_dir():
        raise KeyFileError(f"signing keys directory {root} does not exist", path=str(root))
    keys = [load_signing_key(p) for p in sorted(root.glob(f"*{SUFFIX}"))]
    return {k.region_code: k for k in keys}
