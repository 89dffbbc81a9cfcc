"""`egov-bus dev up && dev up && dev status && dev down && dev status` on a private stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.devstack import DevStack
from devtools.devstack.process import is_running

pytestmark = pytest.mark.integration

EGOV = str(Path(sys.executable).with_name("egov-bus"))


def run(*args: str, state_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    return subprocess.run(
        [EGOV, *args, "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=180, env=env
    )


def test_dev_lifecycle(tmp_path: Path) -> None:
    state = tmp_path / "state"
    try:
        first = run("dev", "up", state_dir=state)
        assert first.returncode == 0, first.stderr
        assert "started" in first.stdout
        info = DevStack(state).info()
        assert info is not None
        pids = {name: rec.pid for name, rec in info.processes.items()}

        second = run("dev", "up", state_dir=state)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        assert {n: r.pid for n, r in DevStack(state).info().processes.items()} == pids

        env_lines = (state / "dev.env").read_text()
        assert f"EGOV_BOOTSTRAP_SERVERS={info.bootstrap_servers}" in env_lines

        status = run("dev", "status", state_dir=state)
        assert status.returncode == 0 and "running" in status.stdout and str(pids["kafka"]) in status.stdout

        down = run("dev", "down", state_dir=state)
        assert down.returncode == 0 and "kafka" in down.stdout and "registry" in down.stdout
        assert not any(is_running(rec) for rec in info.processes.values())

        after = run("dev", "status", state_dir=state)
        assert after.returncode == 0 and "nothing runs" in after.stdout
    finally:
        DevStack(state).down()


def test_help_lists_commands() -> None:
    out = subprocess.run([EGOV, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "dev" in out.stdout
