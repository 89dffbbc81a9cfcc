"""The ``--workers N`` supervisor with stand-in workers (small real processes, no broker), the worker
header, the multiprocess metrics and the spools no slot opens."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapters.gateway.exceptions import SupervisorError
from adapters.gateway.supervisor import Supervisor, bind_listener, unused_spools
from adapters.gateway.worker import WORKER_HEADER, WorkerHeader, spool_component
from bus.errors import EgovBusError
from bus.retry import RetryPolicy

FAST = RetryPolicy(initial_s=0.01, cap_s=0.08, floor_s=0.0)
WAIT = RetryPolicy(initial_s=0.02, cap_s=0.2, floor_s=0.01)

# A stand-in worker: writes "ready" once its signal handling is set up, then waits for a signal.
PAUSE = "import signal, sys; print('ready', flush=True); signal.pause()"
IGNORE_TERM = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); signal.pause()"
CLEAN_TERM = ("import signal, sys; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
              "print('ready', flush=True); signal.pause()")


def python(code: str, env: dict[str, str] | None = None) -> "subprocess.Popen[bytes]":
    """Start ``python -c code`` and, if it announces readiness, wait for it."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    if "ready" in code:
        assert proc.stdout.readline() == b"ready\n"
    return proc


class Running:
    """A supervisor running in a thread until the test ends (stopped and joined then)."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self.stop = threading.Event()
        self.thread = threading.Thread(target=supervisor.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        assert WAIT.wait_until(condition, timeout), f"timed out after {timeout}s waiting for {what}"

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


@pytest.fixture
def running() -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(workers: int, spawn: Callable[[int], "subprocess.Popen[bytes]"], **options) -> Running:
        run = Running(Supervisor(workers, spawn, poll_s=0.01, **options))
        started.append(run)
        return run

    yield start
    for run in started:
        run.close()


def test_a_crashing_slot_is_restarted_in_its_slot_with_growing_backoff(running) -> None:
    spawned: list[int] = []

    def spawn(slot: int):
        spawned.append(slot)
        return python("import sys; sys.exit(3)" if slot == 0 else PAUSE)

    run = running(2, spawn, policy=FAST, stable_after_s=60)
    run.wait(lambda: len(run.supervisor.restarts) >= 5, "five restarts of slot 0")
    run.close()
    restarts = run.supervisor.restarts[:5]
    assert [(r.slot, r.returncode) for r in restarts] == [(0, 3)] * 5
    assert [r.attempt for r in restarts] == [1, 2, 3, 4, 5]
    # Full jitter: each delay at most initial * 2**(attempt-1), capped.
    assert all(0 <= r.delay_s <= min(FAST.cap_s, FAST.initial_s * 2 ** (r.attempt - 1)) for r in restarts)
    assert spawned.count(1) == 1  # the healthy slot was never restarted
    assert all(r.slot == 0 for r in run.supervisor.restarts)


def test_a_worker_that_ran_stable_after_s_starts_the_backoff_again(running) -> None:
    run = running(1, lambda _slot: python("import sys; sys.exit(1)"), policy=FAST, stable_after_s=0.0)
    run.wait(lambda: len(run.supervisor.restarts) >= 3, "three restarts")
    assert [r.attempt for r in run.supervisor.restarts[:3]] == [1, 1, 1]


def test_kill_9_restarts_the_same_slot_and_drops_its_live_gauges(running, tmp_path) -> None:
    # Each stand-in creates the files a prometheus-client worker would, named by its pid.
    worker = textwrap.dedent(f"""
        import os, pathlib, signal
        for name in ("gauge_livesum", "counter"):
            pathlib.Path({str(tmp_path)!r}, f"{{name}}_{{os.getpid()}}.db").touch()
        print("ready", flush=True)
        signal.pause()
    """)
    spawned: list[tuple[int, int]] = []

    def spawn(slot: int):
        proc = python(worker)
        spawned.append((slot, proc.pid))
        return proc

    run = running(2, spawn, policy=FAST, metrics_dir=tmp_path)
    run.wait(lambda: len(run.supervisor.pids()) == 2, "both slots")
    before = run.supervisor.pids()
    os.kill(before[1], signal.SIGKILL)
    run.wait(lambda: run.supervisor.pids().get(1) not in (None, before[1]), "slot 1 to be restarted")
    [restart] = run.supervisor.restarts
    assert (restart.slot, restart.pid, restart.returncode) == (1, before[1], -signal.SIGKILL)
    assert run.supervisor.pids()[0] == before[0]
    assert [slot for slot, _pid in spawned] == [0, 1, 1]
    assert not (tmp_path / f"gauge_livesum_{before[1]}.db").exists()  # a dead worker's live gauges go
    assert (tmp_path / f"counter_{before[1]}.db").exists()  # its counts stay in the totals
    assert (tmp_path / f"gauge_livesum_{before[0]}.db").exists()


def test_stop_terminates_every_worker_and_kills_one_that_ignores_sigterm(running) -> None:
    procs: dict[int, subprocess.Popen] = {}

    def spawn(slot: int):
        procs[slot] = python(CLEAN_TERM if slot == 0 else IGNORE_TERM)
        return procs[slot]

    run = running(2, spawn, stop_timeout_s=0.5)
    run.wait(lambda: len(procs) == 2, "both workers")
    run.close()
    assert (procs[0].returncode, procs[1].returncode) == (0, -signal.SIGKILL)
    assert run.supervisor.restarts == [] and run.supervisor.pids() == {}


def test_a_spawn_failure_is_retried_like_a_crash(running) -> None:
    calls: list[int] = []

    def spawn(slot: int):
        calls.append(slot)
        if len(calls) < 3:
            raise OSError("no more processes")
        return python(PAUSE)

    run = running(1, spawn, policy=FAST)
    run.wait(lambda: 0 in run.supervisor.pids(), "the third try to start")
    assert calls == [0, 0, 0]


def test_bad_arguments_are_supervisor_errors() -> None:
    with pytest.raises(SupervisorError, match="at least one worker"):
        Supervisor(0, lambda _slot: None)  # type: ignore[arg-type,return-value]
    taken = bind_listener("127.0.0.1", 0)
    try:
        with pytest.raises(SupervisorError, match="cannot listen") as info:
            bind_listener("127.0.0.1", taken.getsockname()[1])
        assert isinstance(info.value, EgovBusError)
        assert taken.get_inheritable() and taken.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
    finally:
        taken.close()


def test_the_worker_header_names_the_slot_and_lifespan_passes_through() -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        seen.append("started")
        yield
        seen.append("stopped")

    app = FastAPI(lifespan=lifespan)

    @app.get("/x")
    def _x() -> dict:
        return {"ok": True}

    with TestClient(WorkerHeader(app, 3)) as client:
        response = client.get("/x", headers={"x-test": "1"})
        assert (response.status_code, response.json(), response.headers[WORKER_HEADER]) == (200, {"ok": True}, "3")
        assert client.get("/nope").headers[WORKER_HEADER] == "3"
    assert seen == ["started", "stopped"]
    assert spool_component(0) == "gateway-0"


def _spool_file(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE spool (seq INTEGER PRIMARY KEY, value BLOB)")
        db.executemany("INSERT INTO spool (value) VALUES (?)", [(b"x",)] * rows)


def test_unused_spools_are_those_with_events_that_no_slot_opens(tmp_path) -> None:
    for name, rows in (("gateway", 2), ("gateway-0", 5), ("gateway-1", 1), ("gateway-3", 4), ("gateway-5", 0),
                       ("importer", 7)):
        _spool_file(tmp_path / f"{name}.sqlite", rows)
    (tmp_path / "gateway-9.sqlite").write_bytes(b"not a database")
    assert unused_spools(tmp_path, 2) == {tmp_path / "gateway.sqlite": 2, tmp_path / "gateway-3.sqlite": 4}
    assert unused_spools(tmp_path / "missing", 2) == {}


METRICS_WORKER = """
import sys
from adapters.metrics import GATEWAY_ACCEPTED, GATEWAY_REQUESTS_IN_FLIGHT, record_spool_gauges
GATEWAY_ACCEPTED.labels("budgeting").inc(int(sys.argv[1]))
GATEWAY_REQUESTS_IN_FLIGHT.inc(2)
record_spool_gauges()
"""
METRICS_SCRAPE = """
from prometheus_client import generate_latest
from adapters.metrics import scrape_registry
print(generate_latest(scrape_registry()).decode())
"""


def test_multiprocess_metrics_sum_the_workers_counters(tmp_path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for count in ("3", "4"):
        subprocess.run([sys.executable, "-c", METRICS_WORKER, count], env=env, check=True)
    scraped = subprocess.run([sys.executable, "-c", METRICS_SCRAPE], env=env, check=True, capture_output=True,
                             text=True).stdout
    assert 'egov_gateway_events_accepted_total{theme="budgeting"} 7.0' in scraped
    # Live gauges of exited processes still count until the supervisor marks them dead.
    assert "egov_gateway_requests_in_flight 4.0" in scraped
    assert "egov_spool_depth_events 0.0" in scraped


def test_a_worker_whose_supervisor_is_gone_stops_itself() -> None:
    from types import SimpleNamespace

    from adapters.gateway.worker import _watch

    server, done = SimpleNamespace(should_exit=False), threading.Event()
    watcher = threading.Thread(target=_watch, args=(server, os.getppid() + 1_000_000, done), daemon=True)
    watcher.start()
    watcher.join(timeout=10)
    assert not watcher.is_alive() and server.should_exit is True
    # Its supervisor alive: keeps serving until told to stop.
    server, done = SimpleNamespace(should_exit=False), threading.Event()
    watcher = threading.Thread(target=_watch, args=(server, os.getppid(), done), daemon=True)
    watcher.start()
    done.set()
    watcher.join(timeout=10)
    assert not watcher.is_alive() and server.should_exit is False
