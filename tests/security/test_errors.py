"""A wrong or missing credential, or no broker: one line naming the principal and the broker, exit 1.

Every command runs as a real ``egov-bus`` process against the session's
secured broker (SASL_SSL, SCRAM-SHA-512, ACLs enforced) with a settings file
that is wrong in one way. And a worker whose ACLs are taken away while it
runs stops with an authorization error instead of retrying forever.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

from devtools.devstack.process import free_port

pytestmark = pytest.mark.integration

EGOV = shutil.which("egov-bus", path=str(Path(sys.executable).parent)) or "egov-bus"
#: A process refused by the broker ends within this (the no-broker case waits EGOV_REQUEST_TIMEOUT_S first).
COMMAND_TIMEOUT_S = 60.0
WORKER_EXIT_S = 90.0

#: Commands that talk to Kafka and fail on any problem (publishers that spool only on a refusal: below).
COMMANDS = [
    ["topics", "list"],
    ["views", "integration_index"],
    ["tail", "budgeting"],
    ["dlq", "inspect", "budgeting"],
    ["acls", "list"],
    ["users", "list"],
]
#: Publishers with a spool: a broker that is away is their normal case, a refused credential is not.
PUBLISHERS = [["simulate", "--duration", "0.1", "--rate", "10"]]


def _read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))


def _write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    path.chmod(0o600)
    return path


@pytest.fixture
def region_env(namespace) -> tuple[str, dict[str, str]]:
    user = namespace.policy.region_user("32.01")
    values = _read_env(namespace.enrol(user))
    values["EGOV_REQUEST_TIMEOUT_S"] = "3"
    return user, values


def _case(kind: str, namespace, region_env, tmp_path: Path) -> tuple[Path, str, str, list[str]]:
    """A settings file wrong in one way; the principal and broker its error must name; secrets it must not."""
    user, values = region_env
    broker = values["EGOV_BOOTSTRAP_SERVERS"]
    secrets = [values["EGOV_SASL_PASSWORD"], *namespace.passwords.values()]
    if kind == "wrong-password":
        values = {**values, "EGOV_SASL_PASSWORD": "not-the-password-" + values["EGOV_SASL_PASSWORD"][:4]}
        secrets.append(values["EGOV_SASL_PASSWORD"])
        who = f"user {user}"
    elif kind == "unknown-user":
        user = f"{namespace.prefix}.region-99.99"
        values = {**values, "EGOV_SASL_USERNAME": user, "EGOV_SASL_PASSWORD": "unknown-users-password"}
        secrets.append("unknown-users-password")
        who = f"user {user}"
    elif kind == "plaintext":
        values = {k: v for k, v in values.items() if not k.startswith(("EGOV_SASL_", "EGOV_SSL_"))}
        values["EGOV_SECURITY_PROTOCOL"] = "PLAINTEXT"
        who = "no credentials (PLAINTEXT)"
    elif kind == "no-broker":
        broker = f"127.0.0.1:{free_port()}"
        values = {**values, "EGOV_BOOTSTRAP_SERVERS": broker}
        who = f"user {user}"
    else:
        raise AssertionError(kind)
    return _write_env(tmp_path / f"{kind}.env", values), who, broker, secrets


def _run(args: list[str], env_file: Path, cwd: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(settings)
    env["EGOV_ENV_FILE"] = str(env_file)
    env["EGOV_SPOOL_DIR"] = str(cwd / "spool")
    env["COLUMNS"] = "80"  # a narrow terminal must not wrap the one line
    return subprocess.run([EGOV, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)


def _assert_one_line(done: subprocess.CompletedProcess, who: str, broker: str, secrets: list[str]) -> str:
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    lines = done.stderr.splitlines()
    assert len(lines) == 1, out
    line = lines[0]
    assert line.startswith("error: "), out
    assert who in line and broker in line, line
    assert "Traceback" not in out and "%3|" not in out and "|FAIL|" not in out, out
    for secret in secrets:
        assert secret not in out
    return line


@pytest.mark.parametrize("kind", ["wrong-password", "unknown-user", "plaintext", "no-broker"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_command_fails_in_one_line(kind: str, command: list[str], namespace, region_env, tmp_path: Path) -> None:
    env_file, who, broker, secrets = _case(kind, namespace, region_env, tmp_path)
    # A refusal must come from the broker's answer, not from the request timeout: made long here
    # (the environment beats the settings file) so that the two cannot be confused on a loaded machine.
    refused_within_s, timeout = 40, {} if kind == "no-broker" else {"EGOV_REQUEST_TIMEOUT_S": "60"}
    started = time.monotonic()
    line = _assert_one_line(_run(command, env_file, tmp_path, **timeout), who, broker, secrets)
    expected = {
        "wrong-password": "SASL authentication failed (unknown user or wrong password)",
        "unknown-user": "SASL authentication failed (unknown user or wrong password)",
        "plaintext": "closed the connection with no credentials (PLAINTEXT) before answering",
        "no-broker": "cannot reach Kafka at",
    }[kind]
    assert expected in line, line
    if kind != "no-broker":
        # Refused by the broker: known within a round trip, not after the whole request timeout.
        assert time.monotonic() - started < refused_within_s, line


@pytest.mark.parametrize("kind", ["wrong-password", "unknown-user", "plaintext"])
@pytest.mark.parametrize("command", PUBLISHERS, ids=" ".join)
def test_a_publisher_refused_fails_in_one_line(kind: str, command: list[str], namespace, region_env,
                                               tmp_path: Path) -> None:
    env_file, who, broker, secrets = _case(kind, namespace, region_env, tmp_path)
    _assert_one_line(_run(command, env_file, tmp_path), who, broker, secrets)


def test_a_worker_that_loses_its_acls_stops(namespace, tmp_path: Path) -> None:
    user = namespace.policy.user("processors")
    namespace.enrol(user)
    env = namespace.environ(user)
    env["EGOV_PROCESSOR_DATA_DIR"] = str(tmp_path / "data")
    log = tmp_path / "worker.log"
    admin = namespace.stack.admin()
    with open(log, "wb") as out:
        proc = subprocess.Popen([EGOV, "process", "--topic-prefix", namespace.prefix, "--log-level", "warn"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + WORKER_EXIT_S
        while True:  # the worker is in its group: it has passed start-up and polls
            try:
                group = admin.describe_consumer_groups([namespace.app_id])[namespace.app_id].result(timeout=10)
                if group.members:
                    break
            except KafkaException:  # the group's coordinator is not known yet (NOT_COORDINATOR): ask again
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the worker did not join its group:\n{log.read_text()}"
            time.sleep(0.5)
        everything_of_user = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, f"User:{user}", None,
                                              AclOperation.ANY, AclPermissionType.ANY)
        deleted = admin.delete_acls([everything_of_user])[everything_of_user].result(timeout=10)
        assert deleted, "the processors user had no ACLs to delete"
        removed_at = time.monotonic()
        rc = proc.wait(timeout=WORKER_EXIT_S)
        text = log.read_text()
        assert rc != 0, text
        assert time.monotonic() - removed_at < WORKER_EXIT_S
        assert f"refused user {user}: not authorized" in text, text
        assert "AUTHORIZATION_FAILED" in text or "authorization failed" in text, text
        for secret in namespace.passwords.values():
            assert secret not in text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
