"""The HTTP load generator of B4 (``bench/gateway.py``): ``wrk`` with ``bench/wrk/post.lua``.

wrk (Debian package ``wrk``; ``deploy/tools/system-deps.sh wrk`` installs it) is a C
event loop: one thread drives well over 50,000 requests/s here, so it is not what limits
a Python server. Each run is one closed-loop cell (N connections, each sending its next
request when the previous answer arrived); its Lua ``done()`` prints one ``WRK_JSON``
line that :func:`parse_wrk` reads. The CPU time of wrk and of the server's process group
during the cell is measured too, so a result shows who used the machine.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import group_stats
from bus.errors import EgovBusError

LUA = Path(__file__).resolve().parent / "wrk" / "post.lua"
MARKER = "WRK_JSON "
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class WrkResult:
    """What one wrk cell measured. Latencies in milliseconds; ``ok`` counts 2xx answers."""

    requests: int
    duration_s: float
    ok: int
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    spooled: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    wrk_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """Answers that are not 2xx/3xx, plus connect/read/write errors and timeouts."""
        non_ok = sum(n for status, n in self.statuses.items() if status >= 400)
        return non_ok + sum(self.socket_errors.values())

    def rate(self, per_request: int = 1) -> float:
        """Accepted requests (times ``per_request`` events) per second: only 2xx answers count."""
        return self.ok * per_request / self.duration_s if self.duration_s > 0 else 0.0

    def as_dict(self, per_request: int = 1) -> dict[str, Any]:
        return {
            "req_per_s": round(self.rate(), 1),
            "events_per_s": round(self.rate(per_request), 1),
            "p50_ms": round(self.p50_ms, 2), "p90_ms": round(self.p90_ms, 2), "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2), "mean_ms": round(self.mean_ms, 2),
            "requests": self.requests, "ok": self.ok, "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "socket_errors": self.socket_errors, "spooled": self.spooled,
            "duration_s": round(self.duration_s, 3),
            # CPU in cores (seconds of CPU per second of the cell): 1.0 is one core busy.
            "wrk_cpu": round(self.wrk_cpu_s / self.duration_s, 3) if self.duration_s else None,
            "server_cpu": round(self.server_cpu_s / self.duration_s, 3) if self.duration_s else None,
        }


def parse_wrk(stdout: str) -> WrkResult:
    """The ``WRK_JSON`` line of ``bench/wrk/post.lua`` in wrk's output, as a :class:`WrkResult`."""
    lines = [line[len(MARKER):] for line in stdout.splitlines() if line.startswith(MARKER)]
    if len(lines) != 1:
        raise EgovBusError(f"expected one {MARKER.strip()} line in wrk's output, found {len(lines)}:\n{stdout[-2000:]}")
    try:
        data = json.loads(lines[0])
        latency = data["latency_us"]
        statuses = {int(k): int(v) for k, v in data["statuses"].items()}
        result = WrkResult(
            requests=int(data["requests"]),
            duration_s=data["duration_us"] / 1e6,
            ok=sum(n for status, n in statuses.items() if 200 <= status < 300),
            statuses=statuses,
            # wrk's "status" error count is the non-2xx/3xx answers, already in statuses.
            socket_errors={k: int(data["errors"][k]) for k in ("connect", "read", "write", "timeout")},
            spooled=int(data["spooled"]),
            p50_ms=latency["p50"] / 1000, p90_ms=latency["p90"] / 1000, p99_ms=latency["p99"] / 1000,
            max_ms=latency["max"] / 1000, mean_ms=latency["mean"] / 1000,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise EgovBusError(f"wrk's {MARKER.strip()} line does not parse ({exc}): {lines[0][:500]}") from None
    if sum(statuses.values()) != result.requests:
        raise EgovBusError(f"wrk counted {result.requests} answers, the script {sum(statuses.values())}")
    return result


def wrk_binary() -> str:
    """The ``wrk`` on PATH, or an error saying how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise EgovBusError("wrk is not installed: `deploy/tools/system-deps.sh wrk` (Debian package wrk), "
                           "or run the benchmark through `make bench BENCH=gateway`")
    return path


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of the live processes of process group ``pgid`` (from /proc)."""
    return sum(int(fields[11]) + int(fields[12]) for fields in group_stats(pgid)) / _CLOCK_TICKS


def run_wrk(url: str, body_file: Path, *, connections: int, duration_s: float, threads: int = 1,
            api_key: str | None = None, timeout_s: float = 5.0, server_pgid: int | None = None) -> WrkResult:
    """One closed-loop cell: ``connections`` connections POSTing ``body_file`` to ``url`` for ``duration_s``."""
    env = {**os.environ, "WRK_BODY_FILE": str(body_file), "WRK_API_KEY": api_key or ""}
    cmd = [wrk_binary(), f"-t{max(1, min(threads, connections))}", f"-c{connections}", f"-d{duration_s:g}s",
           f"--timeout={timeout_s:g}s", "-s", str(LUA), url]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = group_cpu_s(server_pgid) if server_pgid else 0.0
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration_s + timeout_s + 60)
    server_after = group_cpu_s(server_pgid) if server_pgid else 0.0
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise EgovBusError(f"wrk exited {proc.returncode}: {proc.stderr.strip() or proc.stdout[-1000:]}")
    result = parse_wrk(proc.stdout)
    result.wrk_cpu_s = (done.ru_utime - children.ru_utime) + (done.ru_stime - children.ru_stime)
    result.server_cpu_s = max(0.0, server_after - server_before)
    return result
