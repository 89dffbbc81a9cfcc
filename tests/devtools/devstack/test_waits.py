"""The dev stack's condition waits (unit, real child processes and a local HTTP server, no broker)."""

from __future__ import annotations

import fcntl
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devtools.devstack import process
from devtools.devstack.exceptions import ServiceStartError
from devtools.devstack.registry import ApicurioRegistry
from devtools.devstack.services import KafkaBroker
from devtools.tools import installers
from devtools.tools.exceptions import ToolInstallError

_IDLE = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def idle(tmp_path: Path):
    record = process.start("idle", _IDLE, tmp_path / "idle.log")
    yield record
    process.stop(record, timeout=5)


def test_stop_returns_once_the_process_has_exited(idle: process.ProcessRecord) -> None:
    assert process.is_running(idle)
    assert process.stop(idle, timeout=10) is True
    assert not process.is_running(idle)
    assert process.stop(idle) is False


def test_kill_returns_once_the_process_is_gone(idle: process.ProcessRecord) -> None:
    process.kill(idle)
    assert not process.is_running(idle)


def test_a_broker_that_exits_during_start_up_is_reported_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"
    record = process.start("kafka", [sys.executable, "-c", "print('no storage formatted')"], log)
    broker = KafkaBroker(tmp_path, process.free_port(), process.free_port())
    with pytest.raises(ServiceStartError, match=r"Kafka \(kafka\) exited during start-up") as caught:
        broker.wait_ready(record, timeout=30)
    assert "no storage formatted" in str(caught.value)
    assert caught.value.fields == {"service": "kafka"}


class _Registry(BaseHTTPRequestHandler):
    """Health DOWN for the first two asks, then UP; the ccompat subjects list answers 200."""

    asks = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/health/ready":
            type(self).asks += 1
            body = {"status": "UP" if type(self).asks > 2 else "DOWN"}
            code = 200 if body["status"] == "UP" else 503
        elif self.path == f"{ApicurioRegistry.CCOMPAT_PATH}/subjects":
            body, code = [], 200
        else:
            body, code = {}, 404
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args) -> None:
        pass  # quiet test output


def test_the_registry_wait_polls_until_health_says_up(tmp_path: Path, idle: process.ProcessRecord) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        ApicurioRegistry(tmp_path, port, port).wait_ready(idle, timeout=30)
        assert _Registry.asks == 3
    finally:
        server.shutdown()
        server.server_close()


def test_a_registry_that_never_gets_ready_times_out_naming_the_last_answer(tmp_path: Path, idle) -> None:
    port = process.free_port()  # nothing listens: every ask is refused
    with pytest.raises(ServiceStartError, match=r"not ready within 0.3s \(.*refused") as caught:
        ApicurioRegistry(tmp_path, port, port).wait_ready(idle, timeout=0.3)
    assert caught.value.fields == {"service": "registry"}


def test_a_tool_install_lock_held_elsewhere_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_CACHE_DIR", str(tmp_path))
    with open(tmp_path / ".tools.lock", "w") as other:  # another open file: another holder for flock
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ToolInstallError, match="another egov-bus tool install held"):
            with installers._install_lock(timeout_s=0.3):
                pytest.fail("took a lock that another holder has")
        fcntl.flock(other, fcntl.LOCK_UN)
    with installers._install_lock(timeout_s=0.3):
        pass


def test_a_kraft_cluster_id_never_looks_like_an_option() -> None:
    import re

    from devtools.devstack.services import kraft_cluster_id

    ids = [kraft_cluster_id() for _ in range(5000)]  # ~78 would start with "-" otherwise
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cid) for cid in ids)
