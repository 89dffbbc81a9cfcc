"""A real Prometheus server scrapes a running gateway and processor worker.

Events go in through the gateway (HTTP) and the simulator; the processor
consumes them. The test asks Prometheus's HTTP API for the expected series and
finds non-zero values, and checks that label cardinality stays bounded: no
label carries a kabupaten/kota code or an event id, and the number of egov_*
series stays under a ceiling derived from the bounded label sets.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from adapters.gateway import hash_api_key, new_api_key
from devtools.devstack.process import free_port
from tests.fixtures.prometheus import prometheus_server, wait_until
from topics.catalog import load_catalog
from topics.provision import apply

pytestmark = pytest.mark.integration

EGOV = str(Path(sys.executable).with_name("egov-bus"))
PSEUDONYM_KEY = "observability-test-key-not-secret"

# Ceiling on egov_* series from one gateway and one processor worker. Labels are
# bounded by theme (15), outcome/stage/reason (< 10 each) and view (4):
#   processed {processor, theme, outcome}: 1 x 15 x 4 = 60
#   dlq {theme, stage}: 15 x 6 = 90
#   e2e latency histogram {theme, since}: 15 x 2 x (15 buckets + inf + sum + count) = 540
#   view updates: 4; gateway accepted/rejected/published: 15 + 15 x 8 + 15 x 3 = 180; spool/registry: < 20
#   integration gauges {province, theme}: 2 x 38 x 15 = 1,140; consumer lag {group, topic}: 15
# = 2,049; the ceiling leaves headroom but fails on any per-region or per-event label
# (kabupaten/kota labels alone would add 514 x 15 x 2 = 15,420 series).
SERIES_CEILING = 2500


def _env(settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(EGOV_BOOTSTRAP_SERVERS=settings.bootstrap_servers, EGOV_SCHEMA_REGISTRY_URL=settings.schema_registry_url,
               EGOV_SCHEMA_AUTO_REGISTER="true", EGOV_VERIFY_SIGNATURES="false")
    env.update(extra)
    return env


BUDGET = {
    "occurred_at": "2025-03-01T10:00:00+07:00", "source_system": "simda", "allocation_id": "DPA-OBS",
    "fiscal_year": 2025, "agency_code": "1.02.0.00.0.00.01.0000", "program_code": "1.02.02",
    "activity_code": "1.02.02.2.01", "amount": "1500000.00",
}


def test_prometheus_scrapes_gateway_and_processor(stack_settings, admin, tmp_path) -> None:
    apply(admin, load_catalog(), timeout=30)
    key = new_api_key()
    gateway_port, metrics_port = free_port(), free_port()
    procs: list[subprocess.Popen] = []
    logs = []

    def start(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "wb")
        logs.append(log)
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        procs.append(proc)
        return proc

    try:
        start(
            "gateway",
            [EGOV, "gateway", "--port", str(gateway_port), "--log-level", "warning"],
            _env(
                stack_settings,
                EGOV_GATEWAY_API_KEYS=f"32.01={hash_api_key(key)}",
                EGOV_PSEUDONYM_KEY=PSEUDONYM_KEY,
                EGOV_SPOOL_DIR=str(tmp_path / "spool"),
            ),
        )
        start(
            "processor",
            [EGOV, "process", "--log-level", "warn"],
            _env(
                stack_settings,
                EGOV_PROCESSOR_APP_ID=f"egov-obs-{uuid.uuid4().hex[:8]}",
                EGOV_PROCESSOR_DATA_DIR=str(tmp_path / "proc"),
                EGOV_METRICS_PORT=str(metrics_port),
            ),
        )
        base = f"http://127.0.0.1:{gateway_port}"
        wait_until(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, 60, "the gateway to be ready")
        for i in range(20):
            response = httpx.post(
                f"{base}/v1/events/BudgetAllocated",
                json={**BUDGET, "allocation_id": f"DPA-OBS-{i}"},
                headers={"X-API-Key": key},
                timeout=30,
            )
            assert response.status_code == 202, response.text
        simulate = subprocess.run(
            [EGOV, "simulate", "--rate", "400", "--duration", "5", "--seed", "3"],
            env=_env(stack_settings, EGOV_PSEUDONYM_KEY=PSEUDONYM_KEY, EGOV_SPOOL_DIR=str(tmp_path / "sim-spool")),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert simulate.returncode == 0, simulate.stderr[-2000:]

        targets = {"gateway": [f"127.0.0.1:{gateway_port}"], "processor": [f"127.0.0.1:{metrics_port}"]}
        with prometheus_server(targets, tmp_path / "prometheus") as prom:
            wait_until(lambda: set(prom.targets_up().values()) == {"up"}, 60, "both targets up")

            def total(promql: str) -> float:
                result = prom.query(promql)
                return float(result[0]["value"][1]) if result else 0.0

            wait_until(
                lambda: total('sum(egov_gateway_events_accepted_total{theme="budgeting"})') >= 20,
                60,
                "the gateway's accepted events in Prometheus",
            )
            wait_until(
                lambda: total('sum(egov_processor_events_processed_total{outcome="ok"})') >= 2000,
                240,
                "the processor's processed events in Prometheus",
                interval=1,
            )
            assert total("sum(egov_view_updates_total)") > 0
            wait_until(lambda: total("sum(egov_integration_regions_publishing)") > 0, 60, "integration gauges")
            wait_until(lambda: total("count(egov_consumer_lag_records)") > 0, 60, "consumer lag gauges")
            assert total('sum(egov_e2e_latency_seconds_count{since="produced_at"})') > 0

            series = httpx.get(f"{prom.url}/api/v1/series", params={"match[]": '{__name__=~"egov_.+"}'}, timeout=10)
            series = series.json()["data"]
            assert 0 < len(series) <= SERIES_CEILING, len(series)
            region_like = re.compile(r"^\d{2}\.\d{2}")
            for labels in series:
                for name, value in labels.items():
                    assert name not in {"region_code", "event_id", "region"}, labels
                    assert not region_like.match(value), labels
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for log in logs:
            log.close()
