"""The real ``egov-bus keys`` command line: new at a region, register / rotate / revoke / list at the operator."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from bus.keys import KeyRegister, key_state
from bus.keys.register import now_utc
from tests.fixtures.adapters import EGOV_BUS, cli_env, run_cli

pytestmark = pytest.mark.integration


def _new(tmp_path: Path, region: str, name: str) -> tuple[Path, dict]:
    """``keys new`` into its own directory (a region keeps one key per file name); the printed line saved."""
    directory = tmp_path / name
    done = subprocess.run([EGOV_BUS, "keys", "new", "--region", region, "--dir", str(directory)],
                          env={k: v for k, v in os.environ.items() if not k.startswith("EGOV_")},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout)
    assert set(line) == {"key_id", "region_code", "public_key"} and line["region_code"] == region
    key_file = directory / f"{region}.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    pem = key_file.read_text()
    assert "PRIVATE KEY" in pem and pem.splitlines()[1] not in done.stdout + done.stderr  # nothing secret printed
    (tmp_path / f"{name}.json").write_text(done.stdout)
    return tmp_path / f"{name}.json", line


def _ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return " ".join(done.stdout.split())


def _refused(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # one line, no traceback
    return lines[0]


def test_new_register_rotate_revoke_list(stack_settings, keys_prefix, tmp_path: Path) -> None:
    p = ["--prefix", keys_prefix]
    old_file, old = _new(tmp_path, "32.01", "old")
    assert _ok(run_cli(["keys", "register", str(old_file), *p], stack_settings)).startswith(
        f"registered {old['key_id']} (region 32.01), valid from ")
    # The same line again: nothing to do, nothing written.
    assert _ok(run_cli(["keys", "register", str(old_file), *p], stack_settings)) == (
        f"{old['key_id']} is registered already as given: nothing written")

    new_file, new = _new(tmp_path, "32.01", "new")
    rotated = subprocess.run([EGOV_BUS, "keys", "rotate", "--region", "32.01", "--new", "-", "--overlap", "P7D", *p],
                             input=new_file.read_text(), env=cli_env(stack_settings), capture_output=True, text=True,
                             timeout=60)
    out = _ok(rotated)
    assert f"registered {new['key_id']} (region 32.01)" in out and f"ends {old['key_id']} (region 32.01)" in out

    ring = KeyRegister(stack_settings, prefix=keys_prefix).read(timeout=15)
    now = now_utc()
    old_rec, new_rec = ring.lookup(old["key_id"]), ring.lookup(new["key_id"])
    assert (key_state(old_rec, now), key_state(new_rec, now)) == ("valid", "valid")  # two valid keys: the overlap
    assert old_rec.valid_until is not None and (old_rec.valid_until - new_rec.valid_from).days == 7
    assert new_rec.valid_until is None

    listed = _ok(run_cli(["keys", "list", "--region", "32.01", *p], stack_settings))
    assert "2 key(s) in" in listed and listed.count("│ valid │") == 2, listed

    revoked = _ok(run_cli(["keys", "revoke", old["key_id"], "--reason", "laptop stolen", *p], stack_settings))
    assert revoked.startswith(f"revoked {old['key_id']} (region 32.01) at ")
    listed = _ok(run_cli(["keys", "list", *p], stack_settings))
    assert "(laptop stolen)" in listed and listed.count("│ revoked │") == 1 and listed.count("│ valid │") == 1, listed
    assert "revoked already" in _refused(run_cli(["keys", "revoke", old["key_id"], *p], stack_settings))
    # A revoked key is never registered again.
    assert "a revoked key is never registered again" in _refused(
        run_cli(["keys", "register", str(old_file), *p], stack_settings))


def test_every_refusal_is_one_line_and_exit_1(stack_settings, keys_prefix, tmp_path: Path) -> None:
    p = ["--prefix", keys_prefix]
    line_file, line = _new(tmp_path, "32.73", "a")

    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**line, "region_code": "32.01"}))  # claims another region with 32.73's key
    assert _refused(run_cli(["keys", "register", str(forged), *p], stack_settings)) == (
        f"error: {forged}: refused: key record {line['key_id']}: the id does not belong to its public key and region")

    swapped = tmp_path / "swapped.json"
    other_file, other = _new(tmp_path, "32.73", "b")
    swapped.write_text(json.dumps({**line, "public_key": other["public_key"]}))
    assert "the id does not belong to its public key and region" in _refused(
        run_cli(["keys", "register", str(swapped), *p], stack_settings))

    assert "needs a UTC offset" in _refused(
        run_cli(["keys", "register", str(line_file), "--valid-from", "2026-07-01T00:00:00", *p], stack_settings))
    assert _refused(run_cli(["keys", "rotate", "--region", "32.01", "--new", str(line_file), *p], stack_settings)) == (
        f"error: the new key {line['key_id']} is region 32.73's, not 32.01's")
    assert "is not a duration" in _refused(
        run_cli(["keys", "rotate", "--region", "32.73", "--new", str(line_file), "--overlap", "a week", *p], stack_settings))
    assert _refused(run_cli(["keys", "revoke", "32.73:0000000000000000", *p], stack_settings)) == (
        f"error: key 32.73:0000000000000000 is not registered in {keys_prefix}.egov.keys")

    _ok(run_cli(["keys", "register", str(line_file), "--valid-from", "2026-01-01T00:00:00+07:00", *p], stack_settings))
    assert "its validity changes only by `egov-bus keys rotate` or `egov-bus keys revoke`" in _refused(
        run_cli(["keys", "register", str(line_file), "--valid-until", "2027-01-01T00:00:00Z", *p], stack_settings))
    # The register does not exist in this namespace: refused, not created.
    assert _refused(run_cli(["keys", "register", str(other_file), "--prefix", "test.keys.none"], stack_settings)) == (
        "error: the key register test.keys.none.egov.keys does not exist: the operator creates it with "
        "`egov-bus topics apply`")
