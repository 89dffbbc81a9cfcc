"""B4 (bench/gateway.py) without a broker: wrk's summary line, the targets, the summary's expected targets.

The last test runs the real wrk with ``bench/wrk/post.lua`` against the bare endpoint
(``bench/gateway_bare.py``, no egov-bus code) as a real process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.common import stop_tree
from bench.gateway import ROOT, budget_fields, free_port, summarize, targets
from bench.loadgen import WrkResult, parse_wrk, run_wrk
from bench.summary import summarize as summary_lines
from bus.errors import EgovBusError

WRK_TEXT = """Running 2s test @ http://127.0.0.1:8090/v1/events/BudgetAllocated
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    13.69ms    3.62ms  42.54ms   77.33%
  7025 requests in 2.00s, 1.33MB read
  Non-2xx or 3xx responses: 25
Requests/sec:   3512.50
"""


def wrk_json(**changes) -> str:
    data = {"requests": 7025, "duration_us": 2_000_000, "bytes": 1_397_975,
            "errors": {"connect": 0, "read": 1, "write": 0, "status": 25, "timeout": 2},
            "latency_us": {"min": 2794, "mean": 13688.3, "max": 42537, "p50": 13188, "p90": 17675, "p99": 26165,
                           "p999": 37835},
            "statuses": {"202": 7000, "429": 20, "503": 5}, "spooled": 3}
    data.update(changes)
    return WRK_TEXT + "WRK_JSON " + json.dumps(data) + "\n"


def test_parse_wrk_reads_the_summary_line() -> None:
    result = parse_wrk(wrk_json())
    assert (result.requests, result.ok, result.spooled) == (7025, 7000, 3)
    assert result.statuses == {202: 7000, 429: 20, 503: 5}
    assert result.socket_errors == {"connect": 0, "read": 1, "write": 0, "timeout": 2}
    assert result.errors == 25 + 1 + 2  # non-2xx answers and socket errors, wrk's status count not twice
    assert (result.p50_ms, result.p99_ms, result.max_ms) == (13.188, 26.165, 42.537)
    assert result.duration_s == 2.0
    assert result.rate() == 3500.0  # only the 2xx answers count
    assert result.rate(100) == 350_000.0
    assert result.as_dict(100)["statuses"] == {"202": 7000, "429": 20, "503": 5}


@pytest.mark.parametrize("stdout, message", [
    (WRK_TEXT, "expected one WRK_JSON line in wrk's output, found 0"),
    (wrk_json() + "WRK_JSON {}\n", "expected one WRK_JSON line in wrk's output, found 2"),
    (WRK_TEXT + "WRK_JSON {not json\n", "wrk's WRK_JSON line does not parse"),
    (wrk_json(latency_us={}), "wrk's WRK_JSON line does not parse"),
    (wrk_json(requests=7026), "wrk counted 7026 answers, the script 7025"),
])
def test_parse_wrk_refuses_what_it_cannot_trust(stdout: str, message: str) -> None:
    with pytest.raises(EgovBusError) as caught:
        parse_wrk(stdout)
    assert str(caught.value).startswith(message)


def cell(ok: int, p99_ms: float, seconds: float = 10.0) -> WrkResult:
    return WrkResult(requests=ok, duration_s=seconds, ok=ok, statuses={202: ok}, socket_errors={}, spooled=0,
                     p50_ms=p99_ms / 2, p90_ms=p99_ms, p99_ms=p99_ms, max_ms=p99_ms, mean_ms=p99_ms / 2,
                     wrk_cpu_s=1.0, server_cpu_s=9.0)


def b4_summary(gateway_single_32: list[WrkResult], gateway_batch: int) -> dict:
    cells = {
        "bare_single": {32: [cell(30_000, 10), cell(20_000, 10), cell(25_000, 10)]},
        "gateway_single": {32: gateway_single_32},
        "bare_batch": {32: [cell(7_000, 100)] * 3},
        "gateway_batch": {32: [cell(gateway_batch, 200)] * 3},
    }
    return {kind: {"32": summarize(cells, kind, 32, 100)} for kind in ("single", "batch")}


def test_ratios_are_per_round_and_their_median() -> None:
    summary = b4_summary([cell(15_000, 40), cell(6_000, 60), cell(20_000, 30)], 2_000)
    single = summary["single"]["32"]
    assert single["ratio_rounds"] == [0.5, 0.3, 0.8]
    assert single["ratio_median"] == 0.5
    assert single["ratio_best_rounds"] == round(2_000 / 3_000, 3)  # best round ÷ best round
    assert single["gateway"]["p99_ms_median"] == 40
    assert single["gateway"]["server_cpu_median"] == 0.9
    assert summary["batch"]["32"]["gateway"]["events_per_s_median"] == 20_000


def test_targets_met_and_missed() -> None:
    met = targets(b4_summary([cell(15_000, 40), cell(6_000, 60), cell(20_000, 30)], 2_000), 100, 1)
    assert [t["met"] for t in met] == [True, True, True]
    missed = targets(b4_summary([cell(1_000, 300)] * 3, 1_000), 100, 1)
    assert [t["met"] for t in missed] == [False, False, False]
    assert missed[2]["measured"] == "10,000 events/s (at 32 connections)"
    # Two processes or another batch size: the batch target (one process, 100 events) is not measured.
    assert targets(b4_summary([cell(1_000, 300)] * 3, 3_000), 100, 2)[2]["met"] is None
    assert targets(b4_summary([cell(1_000, 300)] * 3, 3_000), 50, 1)[2]["met"] is None


def test_summary_counts_a_missing_b4_target_as_not_measured(tmp_path: Path) -> None:
    found = targets(b4_summary([cell(15_000, 40)] * 3, 2_000), 100, 1)
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps({"benchmark": "B4 gateway", "when": "now", "targets": found[:2]}))
    lines = summary_lines([path], since=None)
    assert lines[-2] == "    target /v1/batch of 100 ≥ 20,000 events/s with one process: not in this file — not measured"
    assert lines[-1] == "  2 met, 0 MISSED, 1 not measured"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed (deploy/tools/system-deps.sh wrk)")
def test_wrk_and_the_lua_script_against_the_bare_endpoint(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.gateway_bare", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the bare endpoint did not start"
            time.sleep(0.1)  # polling a condition (the port answers), with a deadline
        url = f"http://127.0.0.1:{port}/v1/events/BudgetAllocated"
        good, bad = tmp_path / "good.json", tmp_path / "bad.json"
        good.write_text(json.dumps(budget_fields(1)))
        bad.write_text(json.dumps({**budget_fields(1), "amount": "-1"}))
        accepted = run_wrk(url, good, connections=2, duration_s=1, server_pgid=proc.pid)
        assert accepted.requests > 0 and accepted.statuses == {202: accepted.requests}
        assert (accepted.ok, accepted.errors, accepted.spooled) == (accepted.requests, 0, 0)
        assert accepted.server_cpu_s > 0
        refused = run_wrk(url, bad, connections=2, duration_s=1)
        assert refused.requests > 0 and refused.statuses == {422: refused.requests}
        assert (refused.ok, refused.errors) == (0, refused.requests)
    finally:
        stop_tree(proc)
