"""``egov-bus gateway --workers N``: N gateway processes behind one port, a dead one restarted in its slot.

Why a supervisor of our own and not uvicorn's ``--workers``: each worker must keep a stable
slot ``0..N-1``, because the slot names its spool file (``gateway-<slot>.sqlite``), and a worker
that dies with events in its spool must be followed by one that opens the same file and sends
them. Uvicorn's workers are interchangeable and know no slot.

How it works:

- The supervisor binds the listening socket once and hands the same descriptor to every worker
  (``pass_fds``), as uvicorn and gunicorn do. Not ``SO_REUSEPORT`` with a socket per worker: a
  connection the kernel queued on a dead worker's socket would be reset; on one shared socket
  the other workers take it, also while a slot restarts.
- Each worker is a fresh interpreter (``python -m adapters.gateway.worker``), in its own process
  group (a Ctrl-C reaches the supervisor only, which stops the workers in order), with the
  settings pickled to its standard input, so it runs with exactly the supervisor's settings.
- ``PROMETHEUS_MULTIPROC_DIR`` is a fresh private directory, set in each worker's environment
  before it imports prometheus-client: any worker's ``/metrics`` answers for all of them
  (:func:`adapters.metrics.scrape_registry`). An exited worker's live gauges are removed
  (``mark_process_dead``); its counters stay, so totals never go down.
- A worker that exits is restarted in its slot after a delay of the one retry policy
  (:mod:`bus.retry`, full jitter): short after a worker that ran a while, growing while a slot
  crash-loops (reset once a worker has lived ``stable_after_s``). Its spool lock is an
  ``flock``, released by the kernel with the dead process, so the successor can open the file.
- SIGTERM/SIGINT: SIGTERM to every worker by PID (each stops accepting, answers what is in
  flight, flushes and keeps its spool on disk), SIGKILL to one still running after
  ``stop_timeout_s``.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.multiprocess import mark_process_dead

from adapters.gateway.auth import ApiKeyStore
from adapters.gateway.exceptions import SupervisorError
from adapters.gateway.ingest import GatewayConfig
from adapters.gateway.server import COMPONENT
from adapters.gateway.worker import spool_component
from adapters.metrics import MULTIPROC_ENV
from adapters.privacy import Pseudonymizer
from bus.retry import Backoff, RetryPolicy
from schemas.regions import is_current_region

log = logging.getLogger("egov.adapters.gateway.supervisor")

#: Delays before restarting a slot: up to 0.5 s after the first exit, doubling per exit while
#: the slot crash-loops, at most 30 s.
RESTART_POLICY = RetryPolicy(initial_s=0.5, cap_s=30.0, floor_s=0.1)
#: A worker that ran this long counts as healthy: its slot's backoff starts again.
STABLE_AFTER_S = 30.0
#: SIGTERM'd workers that have not exited after this long are killed.
STOP_TIMEOUT_S = 30.0
LISTEN_BACKLOG = 2048

#: ``spawn(slot) -> Popen``: start the worker of a slot.
Spawn = Callable[[int], "subprocess.Popen[bytes]"]


@dataclass(frozen=True)
class Restart:
    """One exit of a worker and when its slot is started again."""

    slot: int
    pid: int
    returncode: int
    lived_s: float
    attempt: int  # exits in a row of this slot (1 after a worker that ran stable_after_s)
    delay_s: float


@dataclass
class _Slot:
    index: int
    backoff: Backoff
    proc: "subprocess.Popen[bytes] | None" = None
    started: float = 0.0
    due: float = 0.0  # monotonic time of the next start while proc is None
    pids: list[int] = field(default_factory=list)


class Supervisor:
    """Keeps one worker process running per slot until ``stop`` is set; then stops them all.

    ``spawn`` starts a slot's worker (production: :func:`spawn_worker`; tests: any command).
    ``restarts`` records every exit that led to a restart, in order.
    """

    def __init__(self, workers: int, spawn: Spawn, *, policy: RetryPolicy = RESTART_POLICY,
                 stable_after_s: float = STABLE_AFTER_S, stop_timeout_s: float = STOP_TIMEOUT_S,
                 metrics_dir: Path | None = None, poll_s: float = 0.1) -> None:
        if workers < 1:
            raise SupervisorError(f"the gateway needs at least one worker, got {workers}", workers=workers)
        self._spawn = spawn
        self._slots = [_Slot(i, policy.backoff()) for i in range(workers)]
        self._stable_after_s = stable_after_s
        self._stop_timeout_s = stop_timeout_s
        self._metrics_dir = metrics_dir
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self.restarts: list[Restart] = []

    def pids(self) -> dict[int, int]:
        """PID of the running worker of each slot (slots waiting for a restart are left out)."""
        with self._lock:
            return {s.index: s.proc.pid for s in self._slots if s.proc is not None}

    def run(self, stop: threading.Event) -> None:
        """Start every slot, restart the ones that exit, and stop them all once ``stop`` is set."""
        try:
            for slot in self._slots:
                self._start(slot, time.monotonic())
            while not stop.wait(self._poll_s):
                now = time.monotonic()
                for slot in self._slots:
                    if slot.proc is not None and slot.proc.poll() is not None:
                        self._exited(slot, now)
                    if slot.proc is None and now >= slot.due:
                        self._start(slot, now)
        finally:
            self._stop_all()

    def _start(self, slot: _Slot, now: float) -> None:
        try:
            proc = self._spawn(slot.index)
        except Exception:  # e.g. out of processes: the slot waits its backoff like a crash
            delay = slot.backoff.next_delay()
            slot.due = now + delay
            log.exception("gateway worker slot %d could not be started; next try in %.1fs", slot.index, delay)
            return
        with self._lock:
            slot.proc, slot.started = proc, now
        slot.pids.append(proc.pid)
        log.info("gateway worker slot %d started (pid %d)", slot.index, proc.pid)

    def _exited(self, slot: _Slot, now: float) -> None:
        proc = slot.proc
        assert proc is not None and proc.returncode is not None
        lived = now - slot.started
        if lived >= self._stable_after_s:
            slot.backoff.reset()
        delay = slot.backoff.next_delay()
        with self._lock:
            slot.proc, slot.due = None, now + delay
        self._forget(proc.pid)
        restart = Restart(slot.index, proc.pid, proc.returncode, lived, slot.backoff.failures, delay)
        self.restarts.append(restart)
        log.warning("gateway worker slot %d (pid %d) exited with %s after %.1fs (%d exit(s) in a row); "
                    "restarting it in %.1fs", slot.index, proc.pid, _describe(proc.returncode), lived,
                    restart.attempt, delay)

    def _forget(self, pid: int) -> None:
        if self._metrics_dir is not None:
            mark_process_dead(pid, str(self._metrics_dir))

    def _stop_all(self) -> None:
        running = [s for s in self._slots if s.proc is not None and s.proc.poll() is None]
        for slot in running:
            assert slot.proc is not None
            log.info("stopping gateway worker slot %d (pid %d)", slot.index, slot.proc.pid)
            slot.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout_s
        for slot in self._slots:
            proc = slot.proc
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("gateway worker slot %d (pid %d) still running after %.0fs; killing it",
                          slot.index, proc.pid, self._stop_timeout_s)
                proc.kill()
                proc.wait()
            self._forget(proc.pid)
            with self._lock:
                slot.proc = None


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"code {returncode}"


def bind_listener(host: str, port: int, backlog: int = LISTEN_BACKLOG) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one), inheritable by the workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # A restarted gateway must not wait for the previous one's TIME_WAIT connections.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise SupervisorError(f"cannot listen on {host}:{port}: {exc}", host=host, port=port) from exc
    sock.set_inheritable(True)
    return sock


def spawn_worker(slot: int, sock: socket.socket, spec: dict[str, Any], metrics_dir: Path) -> "subprocess.Popen[bytes]":
    """Start the worker process of ``slot`` on ``sock`` (see :mod:`adapters.gateway.worker`)."""
    env = {**os.environ, MULTIPROC_ENV: str(metrics_dir)}
    argv = [sys.executable, "-m", "adapters.gateway.worker", "--slot", str(slot), "--fd", str(sock.fileno()),
            "--parent", str(os.getpid())]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, pass_fds=(sock.fileno(),), env=env, process_group=0)
    assert proc.stdin is not None
    with proc.stdin:  # a few hundred bytes: fits the pipe, never blocks
        proc.stdin.write(pickle.dumps(spec))
    return proc


def unused_spools(spool_dir: Path, workers: int) -> dict[Path, int]:
    """Gateway spool files with events that none of ``workers`` slots opens, and their event counts.

    E.g. ``gateway.sqlite`` of a former single-process gateway, or ``gateway-3.sqlite`` after
    going from 4 workers to 3: their events are sent only by a gateway that opens them again.
    """
    used = {f"{spool_component(i)}.sqlite" for i in range(workers)}
    found: dict[Path, int] = {}
    for path in sorted(spool_dir.glob(f"{COMPONENT}*.sqlite")):
        if path.name in used:
            continue
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
                count = db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]
        except sqlite3.Error:
            continue  # not a spool (or empty): nothing to send
        if count:
            found[path] = count
    return found


def supervise(settings: Any, *, host: str = "127.0.0.1", port: int = 8080, config: GatewayConfig | None = None,
              log_level: str = "info", workers: int = 2, stop: threading.Event | None = None) -> None:
    """Run ``workers`` gateway processes on ``host:port`` until SIGTERM/SIGINT (or ``stop``)."""
    if workers < 1:
        raise SupervisorError(f"the gateway needs at least one worker, got {workers}", workers=workers)
    # Checked here once, so that a misconfiguration stops the gateway instead of crash-looping N workers.
    ApiKeyStore.from_settings(settings).check_regions(is_current_region)
    Pseudonymizer.from_settings(settings, purpose="the gateway (it accepts NIKs)")
    for path, count in unused_spools(Path(settings.spool_dir), workers).items():
        log.warning("spool %s holds %d event(s) that none of the %d workers sends; run the gateway with "
                    "the worker count that wrote it until it is empty", path, count, workers)
    sock = bind_listener(host, port)
    metrics_dir = Path(tempfile.mkdtemp(prefix="egov-gateway-metrics-"))
    spec = {"settings": settings, "config": config, "log_level": log_level}
    stop = stop or threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        log.info("gateway supervisor (pid %d): %d workers on %s:%d", os.getpid(), workers, host,
                 sock.getsockname()[1])
        supervisor = Supervisor(workers, lambda slot: spawn_worker(slot, sock, spec, metrics_dir),
                                metrics_dir=metrics_dir)
        supervisor.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    log.info("gateway supervisor stopped")
