"""B4: the HTTP ingest gateway against a bare FastAPI endpoint, with wrk.

In one run, against a real broker and registry, two servers as real processes, each
in its own session (stopped by process group id), on free ports and the same uvicorn
settings (one process unless ``--workers``, uvicorn's default loop and HTTP parser,
the same log level):

(a) ``bare``: ``bench/gateway_bare.py``, FastAPI with a pydantic body of the same
    fields as ``BudgetAllocated``, answering 202 with a fresh id — nothing else;
(b) ``gateway``: ``egov-bus gateway`` (this tree, or ``--gateway-tree PATH``: another
    checkout's code through PYTHONPATH, e.g. the tree before issue 12) with a keys file
    whose key has a rate limit far above what the bench sends, publishing to the
    stack's ``egov.budgeting.events``.

Each serves ``single`` (``POST /v1/events/BudgetAllocated``, one event) and ``batch``
(``POST /v1/batch``, ``--batch`` events); the bodies carry no event_id, so the gateway
gives every event its own. wrk (``bench/loadgen.py``) drives each cell closed-loop at
1, 32 and 128 connections for ``--duration`` seconds. Every target is warmed once;
then each round runs, per connection count and kind, bare and gateway one after the
other (never concurrently; the order alternates between rounds). Per round and cell,
the ratio gateway ÷ bare of accepted requests/s; the headline is the median of these
per-round ratios, next to the best round of each. Only 2xx answers count; errors
(non-2xx, socket errors, timeouts) and "spooled" answers are reported per cell.
Writes ``bench/results/gateway.json``.

    .venv/bin/python -m bench.gateway [--duration 10] [--rounds 3] [--connections 1,32,128]
        [--batch 100] [--workers 1] [--gateway-tree PATH] [--gateway-env EGOV_X=V ...] [--output FILE]

Before/after a change: ``git worktree add /tmp/before <commit>`` and the same run with
``--gateway-tree /tmp/before --output /tmp/gateway-before.json`` (the bare endpoint and
the bench are this tree's either way).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from confluent_kafka.admin import AdminClient

from adapters.gateway import hash_api_key, new_api_key
from bench.common import EGOV, PSEUDONYM_KEY, ROOT, machine, now_iso, round_ratios, stop_tree, verdict
from bench.loadgen import WrkResult, run_wrk, wrk_binary
from bus.errors import EgovBusError
from bus.settings import load_settings
from schemas.topic_names import theme_topic
from topics.catalog import load_catalog
from topics.provision import apply

RESULTS = ROOT / "bench" / "results" / "gateway.json"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
TARGET_SINGLE_RATIO = 0.5  # gateway ÷ bare, single events at 32 connections
TARGET_SINGLE_P99_MS = 50.0
TARGET_BATCH_EVENTS_PER_S = 20_000  # /v1/batch of 100, one process
REGION = "32.01"
PATHS = {"single": "/v1/events/BudgetAllocated", "batch": "/v1/batch"}
# Far above what one key can post here: the bench measures the ingest path, not the limiter.
BENCH_RATE = 10_000_000


def budget_fields(i: int) -> dict[str, Any]:
    """A valid ``BudgetAllocated`` request body (no event_id: the gateway assigns one per event)."""
    return {
        "occurred_at": "2025-03-01T10:00:00+07:00", "source_system": "simda", "allocation_id": f"DPA-2025-{i:08d}",
        "fiscal_year": 2025, "agency_code": "1.02.0.00.0.00.01.0000", "program_code": "1.02.02",
        "activity_code": "1.02.02.2.01", "sub_activity_code": "1.02.02.2.01.0003", "amount": f"{1_250_000 + i}.50",
    }


def bodies(directory: Path, batch: int) -> dict[str, Path]:
    single = directory / "single.json"
    single.write_text(json.dumps(budget_fields(0)))
    many = directory / "batch.json"
    many.write_text(json.dumps({"events": [{"event_type": "BudgetAllocated", **budget_fields(i)} for i in range(batch)]}))
    return {"single": single, "batch": many}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A server process tree on ``port``; ``key`` is sent as X-API-Key."""

    label: str
    proc: "subprocess.Popen[bytes]"
    port: int
    log: Path
    key: str | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, timeout: float = 120.0) -> None:
        """GET /healthz answers 200 (the gateway warms its codecs with the registry first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EgovBusError(f"{self.label} exited {self.proc.returncode} while starting:\n{self.tail()}")
            try:
                if httpx.get(self.url("/healthz"), timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)  # polling a condition (the port answers), with a deadline
        raise EgovBusError(f"{self.label} not ready after {timeout:.0f} s:\n{self.tail()}")

    def check(self, body: Path, path: str) -> None:
        """One request answered 202 (acked, not spooled): the cells would measure something else."""
        headers = {"Content-Type": "application/json", **({"X-API-Key": self.key} if self.key else {})}
        response = httpx.post(self.url(path), content=body.read_bytes(), headers=headers, timeout=30)
        if response.status_code != 202 or '"spooled"' in response.text:
            raise EgovBusError(f"{self.label} {path}: {response.status_code} {response.text[:500]}\n{self.tail()}")

    def stop(self) -> None:
        stop_tree(self.proc)


def start(label: str, cmd: list[str], env: dict[str, str], log_dir: Path, port: int, key: str | None = None) -> Server:
    log = log_dir / f"{label}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log_dir, start_new_session=True)
    return Server(label, proc, port, log, key)


def gateway_options(env: dict[str, str]) -> str:
    """The ``egov-bus gateway --help`` text of the tree under test (which options it has)."""
    proc = subprocess.run([EGOV, "gateway", "--help"], env={**env, "COLUMNS": "200"}, capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        raise EgovBusError(f"egov-bus gateway --help failed: {proc.stderr or proc.stdout}")
    return proc.stdout


def start_gateway(settings: Any, work: Path, tree: Path | None, workers: int, log_level: str,
                  extra_env: dict[str, str]) -> Server:
    key = new_api_key()
    keys_file = work / "keys.yaml"
    # rate/burst: the per-key limit of issue 12's limiter (a loader without it ignores them).
    keys_file.write_text(yaml.safe_dump({"keys": [{"region_code": REGION, "name": "bench", "hash": hash_api_key(key),
                                                   "rate": BENCH_RATE, "burst": BENCH_RATE}]}))
    (work / "empty.env").write_text("")
    (work / "spool").mkdir()
    pseudonym = settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else PSEUDONYM_KEY
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(
        EGOV_ENV_FILE=str(work / "empty.env"),  # not a .egov/dev.env of whatever directory it starts in
        EGOV_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        EGOV_SCHEMA_REGISTRY_URL=settings.schema_registry_url,
        EGOV_SPOOL_DIR=str(work / "spool"),
        EGOV_PSEUDONYM_KEY=pseudonym,
        EGOV_GATEWAY_API_KEYS_FILE=str(keys_file),
        EGOV_SCHEMA_AUTO_REGISTER="true",
    )
    env.update(extra_env)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    port = free_port()
    cmd = [EGOV, "gateway", "--port", str(port), "--log-level", log_level]
    if workers > 1:
        if "--workers" not in gateway_options(env):
            raise EgovBusError(f"the gateway of {tree or ROOT} has no --workers option")
        cmd += ["--workers", str(workers)]
    return start("gateway", cmd, env, work, port, key)


def start_bare(work: Path, workers: int, log_level: str) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env["PYTHONPATH"] = str(ROOT)  # bench.gateway_bare, whatever directory it starts in
    port = free_port()
    cmd = [PYTHON, "-m", "bench.gateway_bare", "--port", str(port), "--workers", str(workers), "--log-level", log_level]
    return start("bare", cmd, env, work, port)


def tree_revision(tree: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (" (uncommitted changes)" if git("status", "--porcelain", "-uno") else "")


def server_settings() -> dict[str, str]:
    """What uvicorn's "auto" loop and HTTP parser resolve to here (the same for both servers)."""
    import importlib.util

    return {"loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            "http": "httptools" if importlib.util.find_spec("httptools") else "h11"}


def summarize(cells: dict[str, dict[int, list[WrkResult]]], kind: str, conns: int, batch: int) -> dict[str, Any]:
    """Median and best round of bare and gateway, and the per-round ratios, for one kind and connection count."""
    per = batch if kind == "batch" else 1
    bare, gw = cells[f"bare_{kind}"][conns], cells[f"gateway_{kind}"][conns]
    out: dict[str, Any] = {}
    for label, runs in (("bare", bare), ("gateway", gw)):
        rates = [r.rate() for r in runs]
        out[label] = {
            "req_per_s_median": round(statistics.median(rates), 1), "req_per_s_best": round(max(rates), 1),
            "events_per_s_median": round(statistics.median(rates) * per, 1),
            "events_per_s_best": round(max(rates) * per, 1),
            "p50_ms_median": round(statistics.median(r.p50_ms for r in runs), 2),
            "p99_ms_median": round(statistics.median(r.p99_ms for r in runs), 2),
            "errors": sum(r.errors for r in runs), "spooled": sum(r.spooled for r in runs),
            "server_cpu_median": round(statistics.median(r.server_cpu_s / r.duration_s for r in runs), 2),
            "wrk_cpu_median": round(statistics.median(r.wrk_cpu_s / r.duration_s for r in runs), 2),
            "rounds": [r.as_dict(per) for r in runs],
        }
    ratios = round_ratios([r.rate() for r in gw], [max(r.rate(), 1e-9) for r in bare])
    out["ratio_median"] = ratios["median"]
    out["ratio_rounds"] = ratios["rounds"]
    out["ratio_best_rounds"] = round(out["gateway"]["req_per_s_best"] / max(out["bare"]["req_per_s_best"], 1e-9), 3)
    return out


def targets(summary: dict[str, dict[str, Any]], batch: int, workers: int) -> list[dict[str, Any]]:
    single = summary["single"].get("32")
    if single is None:
        found = [verdict(f"single events at 32 connections ≥ {TARGET_SINGLE_RATIO}× bare (median of rounds)",
                         "32 connections not run", None),
                 verdict(f"single events at 32 connections p99 ≤ {TARGET_SINGLE_P99_MS:.0f} ms", "not run", None)]
    else:
        ratio, p99 = single["ratio_median"], single["gateway"]["p99_ms_median"]
        found = [verdict(f"single events at 32 connections ≥ {TARGET_SINGLE_RATIO}× bare (median of per-round ratios)",
                         f"{ratio:.3f}× ({single['gateway']['req_per_s_median']:,.0f} vs "
                         f"{single['bare']['req_per_s_median']:,.0f} req/s)", ratio >= TARGET_SINGLE_RATIO),
                 verdict(f"single events at 32 connections p99 ≤ {TARGET_SINGLE_P99_MS:.0f} ms (median of rounds)",
                         f"{p99:.1f} ms", p99 <= TARGET_SINGLE_P99_MS)]
    conns, best = max(((c, s["gateway"]["events_per_s_median"]) for c, s in summary["batch"].items()),
                      key=lambda item: item[1])
    label = f"/v1/batch of 100 ≥ {TARGET_BATCH_EVENTS_PER_S:,} events/s with one process (median of rounds)"
    if batch != 100 or workers != 1:
        found.append(verdict(label, f"{best:,.0f} events/s with batches of {batch}, {workers} worker(s)", None))
    else:
        found.append(verdict(label, f"{best:,.0f} events/s (at {conns} connections)", best >= TARGET_BATCH_EVENTS_PER_S))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per target (32 connections)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", default="1,32,128", help="comma-separated connection counts")
    parser.add_argument("--batch", type=int, default=100, help="events per /v1/batch request")
    parser.add_argument("--workers", type=int, default=1, help="server processes (the gateway needs --workers)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (at most the connection count)")
    parser.add_argument("--timeout", type=float, default=5.0, help="wrk's per-request timeout, seconds")
    parser.add_argument("--log-level", default="warning", help="both servers' log level (info logs every request)")
    parser.add_argument("--gateway-tree", type=Path, help="run the gateway code of this checkout (PYTHONPATH)")
    parser.add_argument("--gateway-env", action="append", default=[], metavar="EGOV_X=VALUE",
                        help="a setting of the gateway process (repeatable), e.g. EGOV_GATEWAY_MAX_IN_FLIGHT=20000")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    extra_env = dict(item.split("=", 1) for item in args.gateway_env)
    connections = [int(c) for c in args.connections.split(",")]
    tree = args.gateway_tree.resolve() if args.gateway_tree else None
    wrk_binary()  # fail before starting anything
    load_before = os.getloadavg()

    revision = tree_revision(tree or ROOT)  # now: the tree may change while the run goes on
    settings = load_settings()
    apply(AdminClient(settings.librdkafka_config()), load_catalog(), timeout=30)  # idempotent
    work = Path(tempfile.mkdtemp(prefix="egov-bench-gateway-"))
    files = bodies(work, args.batch)
    servers: dict[str, Server] = {}
    try:
        servers["bare"] = start_bare(work, args.workers, args.log_level)
        servers["gateway"] = start_gateway(settings, work, tree, args.workers, args.log_level, extra_env)
        for server in servers.values():
            server.wait_ready()
            for kind in PATHS:
                server.check(files[kind], PATHS[kind])

        def cell(name: str, conns: int, seconds: float) -> WrkResult:
            server, kind = servers[name.split("_")[0]], name.split("_")[1]
            return run_wrk(server.url(PATHS[kind]), files[kind], connections=conns, duration_s=seconds,
                           threads=args.wrk_threads, api_key=server.key, timeout_s=args.timeout,
                           server_pgid=server.proc.pid)

        names = ["bare_single", "gateway_single", "bare_batch", "gateway_batch"]
        for name in names:
            cell(name, 32, args.warmup)
        cells: dict[str, dict[int, list[WrkResult]]] = {n: {c: [] for c in connections} for n in names}
        for index in range(args.rounds):
            for conns in connections:
                for kind in PATHS:
                    # Alternate who goes first, so a drift within a round hits both alike.
                    order = ["bare", "gateway"] if index % 2 == 0 else ["gateway", "bare"]
                    for who in order:
                        result = cell(f"{who}_{kind}", conns, args.duration)
                        cells[f"{who}_{kind}"][conns].append(result)
                        print(f"  round {index + 1} {kind:<6} {conns:>3} conns {who:<7} "
                              f"{result.rate():>9,.0f} req/s  p99 {result.p99_ms:7.1f} ms  errors {result.errors}",
                              flush=True)
    except BaseException:
        print(f"  logs of the servers kept in {work}", file=sys.stderr)
        raise
    finally:
        for server in servers.values():
            server.stop()
    shutil.rmtree(work, ignore_errors=True)  # bodies, keys, spool, logs: nothing went wrong

    summary = {kind: {str(c): summarize(cells, kind, c, args.batch) for c in connections} for kind in PATHS}
    found = targets(summary, args.batch, args.workers)
    result = {
        "benchmark": "B4 gateway",
        "gateway_tree": str(tree or ROOT), "gateway_revision": revision,
        "summary": summary,
        "targets": found,
        "target_met": all(t["met"] for t in found if t["met"] is not None),
        "params": {
            "duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds, "connections": connections,
            "batch_events": args.batch, "workers": args.workers, "wrk_threads": args.wrk_threads,
            "wrk_timeout_s": args.timeout, "log_level": args.log_level, "server": server_settings(),
            "gateway_env": extra_env,
            "event_type": "BudgetAllocated", "topic": theme_topic("budgeting"),
            "timing": "per round and connection count: bare and gateway one after the other, order alternating; "
                      "headline: median of per-round ratios gateway ÷ bare (accepted req/s)",
        },
        "machine": machine(load_before),
        "when": now_iso(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print("\n".join([*report(result), f"  -> {args.output}"]))
    return 0


def report(result: dict[str, Any]) -> list[str]:
    """The printed table: per kind and connection count, bare and gateway, then their ratio."""
    p = result["params"]
    lines = [f"B4 gateway ({p['rounds']} rounds × {p['duration_s']:g} s per cell, wrk {p['wrk_threads']} thread(s), "
             f"{p['workers']} server process(es), {p['server']['loop']}/{p['server']['http']}; "
             f"gateway {result['gateway_revision']} at {result['gateway_tree']}):",
             f"  {'kind':<7}{'conns':>5}  {'server':<8}{'req/s med':>11}{'best':>10}{'events/s med':>14}"
             f"{'p50 ms':>8}{'p99 ms':>9}{'errors':>8}{'spooled':>8}{'srv CPU':>8}{'wrk CPU':>8}"]
    for kind, by_conns in result["summary"].items():
        for conns, s in by_conns.items():
            for label in ("bare", "gateway"):
                x = s[label]
                lines.append(f"  {kind:<7}{conns:>5}  {label:<8}{x['req_per_s_median']:>11,.0f}{x['req_per_s_best']:>10,.0f}"
                             f"{x['events_per_s_median']:>14,.0f}{x['p50_ms_median']:>8.1f}{x['p99_ms_median']:>9.1f}"
                             f"{x['errors']:>8}{x['spooled']:>8}{x['server_cpu_median']:>8.2f}{x['wrk_cpu_median']:>8.2f}")
            rounds = " ".join(f"{r:.3f}" for r in s["ratio_rounds"])
            lines.append(f"  {'':<14}gateway ÷ bare: median of per-round ratios {s['ratio_median']:.3f} "
                         f"(rounds {rounds}); best rounds {s['ratio_best_rounds']:.3f}")
    lines += [f"  {t['line']}" for t in result["targets"]]
    m = result["machine"]
    lines.append(f"  load average {m['load_avg_before']} -> {m['load_avg_after']}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
