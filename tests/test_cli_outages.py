"""Every ``egov-bus`` command, run as a process, with no broker and (separately) with no registry.

A command that needs the part that is down prints at most a few lines, one of which names the address it
tried, exits 1, and shows no traceback and no librdkafka log line. A command that needs neither simply
works. ``test_every_command_is_listed`` keeps the lists complete: a new command fails it until it is here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

EGOV = str(Path(sys.executable).with_name("egov-bus"))
TIMEOUT_S = 2  # EGOV_REQUEST_TIMEOUT_S of the runs: an unreachable part is reported after it
MAX_LINES = 4
PREFIX = f"outage{uuid.uuid4().hex[:8]}"  # commands with --prefix look at topics no other test has

# Commands that need the broker (and fail without it); {tmp} is the run's directory.
NEEDS_BROKER = [
    "topics list", "topics apply --prefix {prefix}", "views integration_index", "tail budgeting",
    "dlq inspect budgeting", "dlq replay budgeting --dry-run", "acls list", "acls apply --prefix {prefix}",
    "users list", "users add --region 32.01", "users remove --region 32.01", "keys list",
    "keys register {tmp}/32.02.json", "keys rotate --region 32.02 --new {tmp}/32.02.json", "keys revoke k",
    "audit verify --prefix {prefix}", "audit receipt e --prefix {prefix}", "dev smoke", "process",
    "dashboard --public --port 0",
]
# Commands that need the registry (and fail without it, the broker being up).
NEEDS_REGISTRY = [
    "views integration_index", "tail budgeting", "schemas check", "dev smoke", "process",
    "dashboard --public --port 0", "simulate --rate 5 --duration 1", "import {tmp}/rows.csv --event-type BudgetAllocated",
    "outbox-relay --dsn sqlite:///{tmp}/outbox.db", "gateway --port 0",
]
# Read-only commands that need no registry: run against the shared broker with the registry down, they work.
WORK_WITHOUT_REGISTRY = ["topics list", "dlq inspect budgeting --prefix {prefix}", "keys list --prefix {prefix}",
                         "users list", "acls list"]
# Commands that need neither: with both down they simply work (or fail for their own reason, in one line).
OFFLINE = {
    "catalog markdown": 0, "catalog asyncapi": 0, "catalog strimzi": 0, "catalog strimzi-users": 0,
    "keys new --region 32.01 --dir keys": 0, "gateway-key --region 32.01": 0,
    "dashboard token --scope nation --name t --file {tmp}/tokens.yaml": 0, "dev status --state-dir {tmp}/dev": 0,
    "dev down --state-dir {tmp}/dev": 0, "audit check-receipt {tmp}/32.02.json": 1,
    "dev env --state-dir {tmp}/dev": 1,
}
# Not run here, and why.
NOT_RUN = {
    "dev up": "starts a local stack (tests/devtools)",
    "schemas register": "needs only the registry: without a broker it works and registers into the shared registry",
}
# The publishers that spool start without a broker by design (docs/operations.md): they keep what they accept.
SPOOLING = ["simulate --rate 5 --duration 1"]


def _leaf_commands() -> set[str]:
    import typer

    from bus import cli

    cli._load_plugins()
    found: set[str] = set()

    def walk(cmd, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        if not subs or getattr(cmd, "invoke_without_command", False):
            found.add(" ".join(path))

    walk(typer.main.get_command(cli.app), [])
    return found - {""}


def test_every_command_is_listed() -> None:
    leaves = _leaf_commands()
    runs = [*NEEDS_BROKER, *NEEDS_REGISTRY, *WORK_WITHOUT_REGISTRY, *OFFLINE, *NOT_RUN, *SPOOLING, "status"]
    # A run covers the longest command name its words start with (`dashboard token ...`, `dashboard --public`).
    listed = {max((leaf for leaf in leaves if f"{run} ".startswith(f"{leaf} ")), key=len, default=run)
              for run in runs}
    assert leaves - listed == set()


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A port nothing listens on (bound, never listening: connections are refused), for the whole module."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files the commands read: a public key record, a CSV, an outbox database (a run's cwd is its own)."""
    tmp = tmp_path_factory.mktemp("outages")
    out = subprocess.run([EGOV, "keys", "new", "--region", "32.02", "--dir", str(tmp / "k")], capture_output=True,
                         text=True, check=True, cwd=tmp, env=_base_env(tmp))
    (tmp / "32.02.json").write_text(out.stdout.splitlines()[0] + "\n")
    (tmp / "rows.csv").write_text("region_code,fiscal_year\n32.01,2026\n")
    import sqlite3

    sqlite3.connect(tmp / "outbox.db").close()
    return tmp


def _base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(EGOV_REQUEST_TIMEOUT_S=str(TIMEOUT_S), EGOV_DELIVERY_TIMEOUT_S="3",
               EGOV_PSEUDONYM_KEY="outage-test-pseudonym-key-0123456789", EGOV_SPOOL_DIR=str(tmp / "spool"),
               EGOV_PROCESSOR_DATA_DIR=str(tmp / "processors"), EGOV_SCHEMA_AUTO_REGISTER="true",
               EGOV_GATEWAY_API_KEYS=json.dumps([{"region_code": "32.01", "name": "t", "hash": "sha256:" + "0" * 64}]))
    return env


def _run(command: str, env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess:
    run_dir = tmp / f"run-{uuid.uuid4().hex[:8]}"  # no .egov/dev.env here: only the environment counts
    run_dir.mkdir()
    argv = [EGOV, *command.format(tmp=tmp, prefix=PREFIX).split()]
    return subprocess.run(argv, capture_output=True, text=True, cwd=run_dir, env=env, timeout=120)


def _assert_one_clear_failure(result: subprocess.CompletedProcess, address: str) -> None:
    text = result.stdout + result.stderr
    lines = [line for line in text.splitlines() if line.strip()]
    assert result.returncode == 1, text
    assert len(lines) <= MAX_LINES, text
    assert "Traceback" not in text and "%3|" not in text and "KafkaError{" not in text, text
    assert any(address in line and line.startswith("error: ") for line in lines), text


@pytest.mark.parametrize("command", NEEDS_BROKER)
def test_no_broker(command: str, stack_settings, closed_port: int, workdir: Path) -> None:
    env = {**_base_env(workdir), "EGOV_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port}",
           "EGOV_SCHEMA_REGISTRY_URL": stack_settings.schema_registry_url}
    result = _run(command, env, workdir)
    _assert_one_clear_failure(result, f"cannot reach Kafka at 127.0.0.1:{closed_port}")
    assert "is the stack up? egov-bus dev up" in result.stderr


def _registry_down_env(stack_settings, closed_port: int, workdir: Path) -> dict[str, str]:
    return {**_base_env(workdir), "EGOV_BOOTSTRAP_SERVERS": stack_settings.bootstrap_servers,
            "EGOV_SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{closed_port}/apis/ccompat/v7"}


@pytest.mark.parametrize("command", NEEDS_REGISTRY)
def test_no_registry(command: str, stack_settings, closed_port: int, workdir: Path) -> None:
    result = _run(command, _registry_down_env(stack_settings, closed_port, workdir), workdir)
    _assert_one_clear_failure(result, f"cannot reach the schema registry at http://127.0.0.1:{closed_port}/apis/ccompat/v7")
    assert "is the stack up? egov-bus dev up" in result.stderr


@pytest.fixture(scope="module")
def prefixed_topics(admin) -> None:
    """The two topics the read-only commands above read, under this module's prefix."""
    from confluent_kafka.admin import NewTopic

    from schemas.topic_names import dlq_topic, keys_topic

    futures = admin.create_topics([NewTopic(dlq_topic("budgeting", PREFIX), 1, 1),
                                   NewTopic(keys_topic(PREFIX), 1, 1, config={"cleanup.policy": "compact"})],
                                  operation_timeout=10)
    for future in futures.values():
        future.result(timeout=15)


@pytest.mark.parametrize("command", WORK_WITHOUT_REGISTRY)
def test_no_registry_needed(command: str, stack_settings, closed_port: int, workdir: Path, prefixed_topics) -> None:
    result = _run(command, _registry_down_env(stack_settings, closed_port, workdir), workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", sorted(OFFLINE))
def test_offline_commands_simply_work(command: str, closed_port: int, workdir: Path) -> None:
    env = {**_base_env(workdir), "EGOV_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port}",
           "EGOV_SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{closed_port}"}
    result = _run(command, env, workdir)
    text = result.stdout + result.stderr
    assert result.returncode == OFFLINE[command], text
    assert "Traceback" not in text and "%3|" not in text
    if result.returncode:
        assert len(text.splitlines()) == 1 and text.startswith(("error: ", "receipt invalid: ")), text


@pytest.mark.parametrize("command", SPOOLING)
def test_spooling_publishers_keep_events_without_a_broker(command: str, stack_settings, closed_port: int,
                                                          workdir: Path) -> None:
    env = {**_base_env(workdir), "EGOV_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port}",
           "EGOV_SCHEMA_REGISTRY_URL": stack_settings.schema_registry_url,
           "EGOV_SPOOL_DIR": str(workdir / f"spool-{uuid.uuid4().hex[:6]}")}
    result = _run(command, env, workdir)
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    assert text.count("lost every broker") == 1, text  # the outage said once, not every retry
    assert "events still spooled" in result.stdout and "Traceback" not in text


def test_status_names_the_part_that_is_down(stack_settings, closed_port: int, workdir: Path) -> None:
    no_broker = {**_base_env(workdir), "EGOV_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port}",
                 "EGOV_SCHEMA_REGISTRY_URL": stack_settings.schema_registry_url}
    result = _run("status", no_broker, workdir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"down: cannot reach Kafka at 127.0.0.1:{closed_port} within {TIMEOUT_S} s (connecting with no credentials "
        "(PLAINTEXT): Connection refused) — is the stack up? egov-bus dev up"]
    no_registry = _run("status --json", _registry_down_env(stack_settings, closed_port, workdir), workdir)
    assert no_registry.returncode == 3, no_registry.stderr
    doc = json.loads(no_registry.stdout)
    assert (doc["ok"], doc["kafka"]["reachable"], doc["registry"]["reachable"]) == (False, True, False)
    assert doc["problems"] == [doc["registry"]["error"]]
    assert f"http://127.0.0.1:{closed_port}/apis/ccompat/v7" in doc["registry"]["error"]
