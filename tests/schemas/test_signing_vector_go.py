"""The signed-bytes test vector verifies in a second implementation: Go's standard library (tests/schemas/go_verify).

The Go program is built once per run (stdlib only: no module download, the proxy is off and the
toolchain is the local one), with its build cache in the egov-bus download cache so that only the
first run on a machine compiles the standard library's crypto (~20 s; then well under a second).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.devstack.artifacts import cache_dir

HERE = Path(__file__).parent
SOURCE = HERE / "go_verify"
VECTOR = HERE / "signing_vector.json"
# Where the official Go tarball installs; a shell started by make may not have it on PATH.
_GO_CANDIDATES = (shutil.which("go"), "/usr/local/go/bin/go")
GO = next((c for c in _GO_CANDIDATES if c and Path(c).is_file()), None)

pytestmark = pytest.mark.skipif(GO is None, reason="the Go toolchain (`go`) is not installed, so the "
                                "signed-bytes vector cannot be checked against the Go verifier")


def _go_env() -> dict[str, str]:
    root = cache_dir() / "go"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GOCACHE=str(root / "build"), GOPATH=str(root / "path"), GOFLAGS="-mod=mod -buildvcs=false",
        # Never reach the network: no toolchain switch, no module proxy (stdlib needs neither).
        GOTOOLCHAIN="local", GOPROXY="off", GOWORK="off", GOENV="off", CGO_ENABLED="0",
    )
    return env


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("go_verify") / "go_verify"
    proc = subprocess.run([GO, "build", "-o", str(binary), "."], cwd=SOURCE, env=_go_env(), capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, f"go build failed:\n{proc.stdout}{proc.stderr}"
    return binary


def _run(binary: Path, vector: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), str(vector)], capture_output=True, text=True, timeout=60)


def test_vector_verifies_in_go(verifier: Path) -> None:
    proc = _run(verifier, VECTOR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "PASS: the vector verifies in Go"
    assert not [line for line in lines if line.startswith("FAIL")]
    records = len(json.loads(VECTOR.read_text(encoding="utf-8"))["records"])
    for i in range(records):
        assert f"ok    record {i}: its proof leads to the root (RFC 9162 §2.1.3.2)" in lines
        assert f"ok    record {i}: verifies alone" in lines
        assert f"ok    record {i}: one value byte changed is refused: signature does not verify" in lines
    assert "ok    signature reproduced by Go's Ed25519" in lines


def _tampered(tmp_path: Path, change) -> Path:
    vector = json.loads(VECTOR.read_text(encoding="utf-8"))
    change(vector)
    path = tmp_path / "vector.json"
    path.write_text(json.dumps(vector), encoding="utf-8")
    return path


def test_go_verifier_refuses_a_changed_value(verifier: Path, tmp_path: Path) -> None:
    def change(vector: dict) -> None:
        value = bytearray.fromhex(vector["records"][1]["value_hex"])
        value[0] ^= 0x80
        vector["records"][1]["value_hex"] = value.hex()

    proc = _run(verifier, _tampered(tmp_path, change))
    assert proc.returncode == 1, proc.stdout
    fails = [line for line in proc.stdout.splitlines() if line.startswith("FAIL")]
    assert fails[:2] == ["FAIL  record 1: SHA-256 of the value", "FAIL  record 1: leaf input (217 bytes)"]
    assert "FAIL  record 1: verifies alone: signature does not verify" in fails
    assert "FAIL  record 0: verifies alone: signature does not verify" not in fails
    assert proc.stdout.splitlines()[-1].endswith("check(s) failed")


def test_go_verifier_refuses_a_changed_signature(verifier: Path, tmp_path: Path) -> None:
    def change(vector: dict) -> None:
        for record in vector["records"]:
            sig = bytearray.fromhex(record["headers"]["egov_sig_hex"])
            sig[10] ^= 0x01
            record["headers"]["egov_sig_hex"] = sig.hex()

    proc = _run(verifier, _tampered(tmp_path, change))
    assert proc.returncode == 1, proc.stdout
    fails = [line for line in proc.stdout.splitlines() if line.startswith("FAIL")]
    assert fails == [line for i in range(3) for line in (
        f"FAIL  record {i}: egov_sig is the batch signature", f"FAIL  record {i}: verifies alone: signature does not verify")]
