"""Fairness between regions at the gateway (issue 12): does one flooding key slow another one down?

Starts ``egov-bus gateway`` (one process) on the broker and registry of the
environment (a dev stack: ``set -a; . <state-dir>/dev.env; set +a``) with two
keys: a *flood* key with the default limit (or ``--flood-rate``/``--flood-burst``)
and a *probe* key. The probe posts single ``BudgetAllocated`` events at
``--probe-rate`` (10 req/s) and times each answer; in every round it does so
once alone and once while the flood key posts, in alternating order (ABBA over
rounds, so a drift of the shared machine hits both). Two floods:

* ``over``: the flood key as fast as it can (``wrk`` with ``--flood-connections``,
  or Python threads without wrk): the limiter holds it at its rate, the rest is 429;
* ``at-limit``: the flood key paced at exactly its rate: no 429, its full share.

Target: the probe's p99 with the flood within 2× its p99 alone (median of the
per-round ratios). Writes ``bench/results/fairness.json``.

    .venv/bin/python -m bench.fairness [--rounds 3] [--seconds 30] [--flood over,at-limit]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka.admin import AdminClient
from prometheus_client.parser import text_string_to_metric_families

from adapters.gateway import hash_api_key, new_api_key
from adapters.gateway.ratelimit import DEFAULT_BURST, DEFAULT_RATE
from bench.common import EGOV, PSEUDONYM_KEY, ROOT, machine, now_iso, stop_tree, verdict
from bus.settings import load_settings
from topics.catalog import load_catalog
from topics.provision import apply

RESULTS = ROOT / "bench" / "results" / "fairness.json"
PATH = "/v1/events/BudgetAllocated"
BODY = {
    "occurred_at": "2025-03-01T10:00:00+07:00", "source_system": "bench-fairness", "allocation_id": "DPA-1",
    "fiscal_year": 2025, "agency_code": "1.02.0.00.0.00.01.0000", "program_code": "1.02.02",
    "activity_code": "1.02.02.2.01", "amount": "1500000.00",
}
TARGET_RATIO = 2.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gateway:
    """``egov-bus gateway`` with a keys file of its own, in its own session (stopped by its group)."""

    def __init__(self, flood_key: str, probe_key: str, rate: float, burst: int, workdir: Path) -> None:
        keys = workdir / "keys.yaml"
        keys.write_text(
            f'keys:\n  - {{region_code: "32.01", name: flood, hash: "{hash_api_key(flood_key)}", '
            f'rate: {rate}, burst: {burst}}}\n'
            f'  - {{region_code: "33", name: probe, hash: "{hash_api_key(probe_key)}"}}\n')
        env = dict(os.environ)
        env.update(EGOV_GATEWAY_API_KEYS_FILE=str(keys), EGOV_SPOOL_DIR=str(workdir / "spool"))
        env.setdefault("EGOV_PSEUDONYM_KEY", PSEUDONYM_KEY)
        env.pop("EGOV_GATEWAY_API_KEYS", None)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / "gateway.log"
        self._out = open(self.log, "wb")
        self.proc = subprocess.Popen([EGOV, "gateway", "--port", str(port), "--log-level", "warning"],
                                     stdout=self._out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the gateway did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)  # polling a condition with a deadline

    def counts(self) -> dict[str, float]:
        """Accepted and rate-limited events so far (all themes)."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        out = {"accepted": 0.0, "rate_limited": 0.0}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "egov_gateway_events_accepted_total":
                    out["accepted"] += sample.value
                elif sample.name == "egov_gateway_events_rejected_total" and sample.labels["reason"] == "rate_limited":
                    out["rate_limited"] += sample.value
        return out

    def stop(self) -> None:
        stop_tree(self.proc)
        self._out.close()


def probe(url: str, key: str, rate: float, seconds: float) -> dict[str, Any]:
    """Open-loop at ``rate`` req/s (the schedule does not wait for slow answers): each answer's latency."""
    latencies, statuses = [], []
    with httpx.Client(headers={"X-API-Key": key}, timeout=30) as http:
        http.post(url + PATH, json=BODY)  # the connection is open before the timed part
        start = time.monotonic()
        for n in range(int(rate * seconds)):
            time.sleep(max(0.0, start + n / rate - time.monotonic()))  # pacing, not synchronisation
            began = time.perf_counter()
            response = http.post(url + PATH, json=BODY)
            latencies.append((time.perf_counter() - began) * 1000)
            statuses.append(response.status_code)
    return {"latencies_ms": latencies, "non_202": sum(s != 202 for s in statuses)}


def _paced_flood(url: str, key: str, rate: float, seconds: float) -> None:
    # In a process of its own: its event loop must not share the GIL with the probe's timing.
    async def run() -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(headers={"X-API-Key": key}, timeout=30, limits=limits) as http:
            loop = asyncio.get_running_loop()
            start, tasks = loop.time(), []
            for n in range(int(rate * seconds)):
                await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
                tasks.append(asyncio.create_task(http.post(url + PATH, json=BODY)))
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


def _threads_flood(url: str, key: str, connections: int, seconds: float) -> None:
    stop_at = time.monotonic() + seconds

    def one() -> None:
        with httpx.Client(headers={"X-API-Key": key}, timeout=30) as http:
            while time.monotonic() < stop_at:
                http.post(url + PATH, json=BODY)

    threads = [threading.Thread(target=one) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Flood:
    """The flood key's load for ``seconds``, in another process (wrk, or Python)."""

    def __init__(self, kind: str, url: str, key: str, rate: float, connections: int, seconds: float,
                 workdir: Path) -> None:
        self.kind = kind
        self.tool = "python-asyncio (paced)" if kind == "at-limit" else "wrk" if shutil.which("wrk") else "python-threads"
        if self.tool == "wrk":
            script = workdir / "flood.lua"
            body = json.dumps(BODY).replace("\\", "\\\\").replace("'", "\\'")
            script.write_text(f"wrk.method = 'POST'\nwrk.body = '{body}'\n"
                              "wrk.headers['Content-Type'] = 'application/json'\n"
                              f"wrk.headers['X-API-Key'] = '{key}'\n")
            threads = max(1, min(2, connections))
            self.proc: Any = subprocess.Popen(
                ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "-s", str(script), url + PATH],
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        else:
            context = multiprocessing.get_context("spawn")
            target, args = ((_paced_flood, (url, key, rate, seconds)) if kind == "at-limit"
                            else (_threads_flood, (url, key, connections, seconds)))
            self.proc = context.Process(target=target, args=args, daemon=True)
            self.proc.start()

    def join(self, timeout: float) -> None:
        if isinstance(self.proc, subprocess.Popen):
            self.proc.wait(timeout=timeout)
        else:
            self.proc.join(timeout)


def p(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), nearest rank: the p99 of 300 samples is the 297th smallest."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def phase(gateway: Gateway, probe_key: str, args: argparse.Namespace, flood: str | None, flood_key: str,
          workdir: Path) -> dict[str, Any]:
    before = gateway.counts()
    runner = None
    if flood is not None:
        runner = Flood(flood, gateway.url, flood_key, args.flood_rate, args.flood_connections,
                       args.lead_in + args.seconds + 2, workdir)
        # Load shaping: the flood spends its burst (refilled while the probe ran alone) and reaches
        # its steady state, the key held at its rate, before the probe's timed part.
        time.sleep(args.lead_in)
    began = time.monotonic()
    result = probe(gateway.url, probe_key, args.probe_rate, args.seconds)
    elapsed = time.monotonic() - began
    if runner is not None:
        runner.join(timeout=args.seconds + 60)
    after = gateway.counts()
    lat = result["latencies_ms"]
    out = {"flood": flood or "alone", "samples": len(lat), "probe_non_202": result["non_202"],
           "p50_ms": round(p(lat, 0.50), 2), "p99_ms": round(p(lat, 0.99), 2), "max_ms": round(max(lat), 2)}
    if runner is not None:
        # Over the whole flood (lead-in with its burst, the window, 2 s after): above the rate by the burst.
        window = args.lead_in + elapsed + 2.0
        flood_accepted = after["accepted"] - before["accepted"] - len(lat) - 1
        out.update(tool=runner.tool, flood_accepted_per_s=round(flood_accepted / window, 1),
                   flood_429_per_s=round((after["rate_limited"] - before["rate_limited"]) / window, 1))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0, help="the probe's timed part of each phase")
    parser.add_argument("--probe-rate", type=float, default=10.0)
    parser.add_argument("--flood", default="over,at-limit", help="comma separated: over, at-limit")
    parser.add_argument("--flood-rate", type=float, default=DEFAULT_RATE, help="the flood key's limit (events/s)")
    parser.add_argument("--flood-burst", type=int, default=DEFAULT_BURST)
    parser.add_argument("--flood-connections", type=int, default=16, help="connections of the 'over' flood")
    parser.add_argument("--lead-in", type=float, default=5.0,
                        help="seconds the flood runs before the probe is timed (it spends its burst)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    floods = [f.strip() for f in args.flood.split(",") if f.strip()]
    if not set(floods) <= {"over", "at-limit"}:
        parser.error("--flood takes over and/or at-limit")

    settings = load_settings()
    apply(AdminClient(settings.librdkafka_config()), load_catalog(), timeout=30)
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="egov-bench-fairness-"))
    flood_key, probe_key = new_api_key(), new_api_key()
    gateway = Gateway(flood_key, probe_key, args.flood_rate, args.flood_burst, workdir)
    scenarios: dict[str, list[dict[str, Any]]] = {f: [] for f in floods}
    try:
        probe(gateway.url, probe_key, args.probe_rate, 3.0)  # warm-up: registry lookups, connections
        for r in range(args.rounds):
            for flood in floods:
                order = [None, flood] if r % 2 == 0 else [flood, None]
                phases = {p_["flood"]: p_ for p_ in (phase(gateway, probe_key, args, f, flood_key, workdir)
                                                     for f in order)}
                alone, loaded = phases["alone"], phases[flood]
                row = {"round": r + 1, "alone": alone, "flooded": loaded,
                       "p99_ratio": round(loaded["p99_ms"] / alone["p99_ms"], 2)}
                scenarios[flood].append(row)
                print(f"round {r + 1} {flood:8}: probe p99 alone {alone['p99_ms']} ms, with flood "
                      f"{loaded['p99_ms']} ms (x{row['p99_ratio']}); p50 {alone['p50_ms']} / {loaded['p50_ms']} ms; "
                      f"flood accepted {loaded['flood_accepted_per_s']}/s, 429 {loaded['flood_429_per_s']}/s",
                      flush=True)
    finally:
        gateway.stop()

    targets, summary = [], {}
    for flood, rows in scenarios.items():
        ratio = statistics.median(r["p99_ratio"] for r in rows)
        summary[flood] = {
            "p99_ratio_median": ratio,
            "p99_alone_ms_median": statistics.median(r["alone"]["p99_ms"] for r in rows),
            "p99_flooded_ms_median": statistics.median(r["flooded"]["p99_ms"] for r in rows),
            "probe_non_202": sum(r["alone"]["probe_non_202"] + r["flooded"]["probe_non_202"] for r in rows),
        }
        s = summary[flood]
        targets.append(verdict(
            f"fairness ({flood}): probe key p99 with the flood ≤ {TARGET_RATIO:g}× alone",
            f"{ratio:.2f}× ({s['p99_flooded_ms_median']} ms vs {s['p99_alone_ms_median']} ms, median of "
            f"{len(rows)} rounds; {s['probe_non_202']} probe answers not 202)",
            ratio <= TARGET_RATIO and s["probe_non_202"] == 0))
    result = {"benchmark": "B4 fairness", "when": now_iso(), "settings": {k: v for k, v in vars(args).items()
                                                                           if k != "output"},
              "summary": summary, "targets": targets, "rounds": scenarios, "machine": machine(load_before)}
    result["settings"]["flood"] = floods
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    for t in targets:
        print(t["line"])
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
