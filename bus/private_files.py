"""Files that hold secrets (SCRAM passwords, private keys, token lists): owner-only from the first byte."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path | str, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` readable and writable by its owner only.

    The file is created with mode 0600 (never world-readable, not even for a
    moment) and an existing file is narrowed to 0600 before it is rewritten.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(raw)
    return path
