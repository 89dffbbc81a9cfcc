"""Start and stop service processes by PID, never by name pattern.

A PID alone can be reused by an unrelated process after ours exits, so each
started process is recorded with its kernel start time; a process is "ours"
only while both match.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bus.retry import RetryPolicy

#: Delays between polls of the dev stack's condition waits (a process to exit, a
#: port to open, a service to answer): short at first, so a fast start is seen at
#: once, capped at half a second; the caller's timeout bounds each wait.
POLL = RetryPolicy(initial_s=0.05, cap_s=0.5, floor_s=0.02)


@dataclass(frozen=True)
class ProcessRecord:
    """What we know about a process we started."""

    name: str
    pid: int
    start_ticks: int
    log: str

    def to_dict(self) -> dict:
        return asdict(self)


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the command name in field 2 may contain spaces.
    fields = stat[stat.rindex(")") + 2 :].split()
    state = fields[0]
    if state == "Z":
        return None
    return int(fields[19])


def is_running(record: ProcessRecord) -> bool:
    """True while the recorded process (same PID, same start time) lives."""
    return _start_ticks(record.pid) == record.start_ticks


def start(name: str, argv: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> ProcessRecord:
    """Start ``argv`` in its own session, stdout and stderr to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    ticks = _start_ticks(proc.pid)
    # The Popen object is dropped on purpose: the process outlives this CLI call.
    proc.returncode = 0
    return ProcessRecord(name=name, pid=proc.pid, start_ticks=ticks or 0, log=str(log))


def stop(record: ProcessRecord, timeout: float = 30.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``. Returns True if it was running."""
    if not is_running(record):
        _reap(record.pid)
        return False
    try:
        os.kill(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    if POLL.wait_until(lambda: _exited(record), timeout):
        return True
    try:
        os.kill(record.pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    POLL.wait_until(lambda: _exited(record), 10)
    return True


def _exited(record: ProcessRecord) -> bool:
    _reap(record.pid)
    return not is_running(record)


def stop_child(proc: "subprocess.Popen[Any]", timeout: float = 30.0) -> int | None:
    """Stop a child this process started (SIGTERM, SIGKILL after ``timeout``); its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def kill(record: ProcessRecord) -> None:
    """SIGKILL now (for crash tests)."""
    if is_running(record):
        os.kill(record.pid, signal.SIGKILL)
        # SIGKILL cannot be ignored: the process is gone once the kernel has reaped it.
        POLL.wait_until(lambda: _exited(record), float("inf"))


def _reap(pid: int) -> None:
    # Our own children become zombies until waited for.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def log_tail(path: str | Path, lines: int = 20) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
