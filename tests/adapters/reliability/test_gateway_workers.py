"""``egov-bus gateway --workers 2`` as a real process on a private stack: both workers accept, their
counters add up on /metrics, and a worker killed with SIGKILL loses nothing it acknowledged (the
successor in its slot sends what it spooled)."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import AdminClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from adapters.gateway import hash_api_key, new_api_key
from adapters.gateway.worker import WORKER_HEADER
from bus.retry import RetryPolicy
from bus.settings import EgovSettings, load_settings
from devtools.devstack import DevStack, process
from schemas.cloudevents import HEADER_ID, HEADER_SOURCE
from schemas.topic_names import theme_topic
from tests.fixtures.adapters import EGOV_BUS, TEST_PSEUDONYM_KEY, cli_env, event_ids, read_records

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

TOPIC = theme_topic("complaints")
WAIT = RetryPolicy(initial_s=0.05, cap_s=0.5, floor_s=0.02)


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory) -> Iterator[tuple[DevStack, EgovSettings]]:
    root = tmp_path_factory.mktemp("workers")
    stack = DevStack(root / "stack")
    info = stack.up(progress=lambda _m: None)
    try:
        settings = load_settings(env_file=None, bootstrap_servers=info.bootstrap_servers,
                                 schema_registry_url=info.schema_registry_url,
                                 pseudonym_key=SecretStr(TEST_PSEUDONYM_KEY))
        from topics.catalog import load_catalog
        from topics.provision import apply

        apply(AdminClient(settings.librdkafka_config()), load_catalog(), timeout=20)
        yield stack, settings
    finally:
        stack.down()


def wait_for(condition, timeout: float, what: str) -> None:
    assert WAIT.wait_until(condition, timeout), f"timed out after {timeout}s waiting for {what}"


def worker_pids(supervisor: int) -> dict[int, int]:
    """The live worker processes of a supervisor, by slot (from /proc: they are not our children)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if int(ppid) == supervisor and state != "Z" and b"adapters.gateway.worker" in argv:
            found[int(argv[argv.index(b"--slot") + 1])] = int(entry.name)
    return found


def spool_rows(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]


class Gateway:
    """``egov-bus gateway --workers 2`` started by PID, stopped by PID."""

    def __init__(self, settings: EgovSettings, tmp: Path) -> None:
        self.key = new_api_key()
        self.port = process.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.spool_dir = tmp / "spool"
        self.log = tmp / "gateway.log"
        self.source = f"workers-{uuid.uuid4().hex[:8]}"
        env = cli_env(settings, EGOV_SPOOL_DIR=str(self.spool_dir),
                      EGOV_GATEWAY_API_KEYS=f"32.01={hash_api_key(self.key)}")
        self.record = process.start("gateway", [EGOV_BUS, "gateway", "--workers", "2", "--port", str(self.port),
                                                "--log-level", "warning"], self.log, env=env)
        self._numbers = itertools.count(1)  # next() is atomic: the posting threads share it

    def workers(self) -> dict[int, int]:
        assert process.is_running(self.record), process.log_tail(self.log, 60)
        return worker_pids(self.record.pid)

    def serving_slots(self, want: set[int], timeout: float = 90) -> None:
        """Wait until each slot in ``want`` has answered /healthz (new connection per request)."""
        seen: set[int] = set()

        def probe() -> bool:
            self.workers()  # fails at once if the supervisor died
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=2)
                seen.add(int(response.headers[WORKER_HEADER]))
            except httpx.HTTPError:
                pass
            return want <= seen

        wait_for(probe, timeout, f"slots {want} to answer ({process.log_tail(self.log)})")

    def post(self) -> httpx.Response:
        """One distinct event on a new connection (so the kernel picks a worker each time)."""
        body = {"occurred_at": "2025-03-01T08:00:00Z", "complaint_id": f"W-{next(self._numbers):05d}", "category": "kesehatan",
                "channel": "web", "is_anonymous": False, "source_system": self.source}
        return httpx.post(f"{self.url}/v1/events/ComplaintReceived", json=body, headers={"X-API-Key": self.key},
                          timeout=120)

    def ours(self, records) -> list[str]:
        return [r.headers[HEADER_ID].decode() for r in records
                if r.headers.get(HEADER_SOURCE, b"").decode().endswith("/" + self.source)]

    def stop(self) -> None:
        workers = worker_pids(self.record.pid)
        assert process.stop(self.record, timeout=60)
        # SIGTERM reached both workers through the supervisor and they are gone with it.
        assert worker_pids(self.record.pid) == {}
        assert not any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in workers.values())


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat[stat.rindex(")") + 2:].split()[0]


def accepted_counter(url: str) -> tuple[int, float]:
    """(slot that answered, egov_gateway_events_accepted_total{theme="complaints"}) of one scrape."""
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    value = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "egov_gateway_events_accepted_total" and sample.labels == {"theme": "complaints"}:
                value = sample.value
    return int(response.headers[WORKER_HEADER]), value


@pytest.fixture
def gateway(private_stack, tmp_path) -> Iterator[Gateway]:
    _stack, settings = private_stack
    gw = Gateway(settings, tmp_path)
    try:
        gw.serving_slots({0, 1})
        yield gw
    finally:
        if process.is_running(gw.record):
            gw.stop()


def test_both_workers_accept_and_metrics_add_up_across_them(gateway, private_stack) -> None:
    _stack, settings = private_stack
    by_slot: Counter[int] = Counter()
    ids: list[str] = []
    # Eight clients at a time, each request on its own connection, until both workers took some.
    with ThreadPoolExecutor(8) as pool:
        while min(by_slot[0], by_slot[1]) < 5:
            assert len(ids) < 800, f"one worker took (almost) everything: {dict(by_slot)}"
            for response in pool.map(lambda _i: gateway.post(), range(16)):
                assert response.status_code == 202, response.text
                assert response.json()["status"] == "acked"
                by_slot[int(response.headers[WORKER_HEADER])] += 1
                ids.append(response.json()["event_id"])
    assert len(set(ids)) == len(ids) == by_slot[0] + by_slot[1]

    # Whichever worker answers the scrape, the counter is the sum over both.
    scrapes: dict[int, float] = {}

    def scrape() -> bool:
        slot, value = accepted_counter(gateway.url)
        scrapes[slot] = value
        return len(scrapes) == 2

    wait_for(scrape, 60, "a scrape answered by each worker")
    assert scrapes == {0: float(len(ids)), 1: float(len(ids))}

    records = read_records(settings, TOPIC, until=lambda got: set(ids) <= set(event_ids(got)))
    assert sorted(gateway.ours(records)) == sorted(ids)  # each exactly once
    gateway.stop()
    assert {p.name for p in gateway.spool_dir.glob("*.sqlite")} == {"gateway-0.sqlite", "gateway-1.sqlite"}


def test_a_killed_worker_loses_nothing_it_acknowledged(gateway, private_stack) -> None:
    stack, settings = private_stack
    acked_before = [gateway.post() for _ in range(4)]
    assert {r.status_code for r in acked_before} == {202}
    acknowledged = {r.json()["event_id"] for r in acked_before}

    stack.stop_broker()
    try:
        spooled: dict[int, list[str]] = {0: [], 1: []}
        statuses: Counter[int] = Counter()
        # Until each worker has answered some events with "spooled" (the kernel spreads connections).
        while min(len(spooled[0]), len(spooled[1])) < 5:
            assert sum(statuses.values()) < 600, (statuses, {s: len(v) for s, v in spooled.items()})
            response = gateway.post()
            statuses[response.status_code] += 1
            assert response.status_code in (202, 503), response.text  # never a 500
            if response.status_code == 202:
                acknowledged.add(response.json()["event_id"])
                if response.json()["status"] == "spooled":
                    spooled[int(response.headers[WORKER_HEADER])].append(response.json()["event_id"])

        victim = 0
        victim_spool = gateway.spool_dir / "gateway-0.sqlite"
        before = gateway.workers()
        assert spool_rows(victim_spool) >= len(spooled[victim])
        os.kill(before[victim], signal.SIGKILL)
        wait_for(lambda: gateway.workers().get(victim) not in (None, before[victim]), 60,
                 "the supervisor to restart slot 0")
        assert gateway.workers()[1] == before[1]  # the other worker kept running
        gateway.serving_slots({0})
        # The successor opened the same spool: what the dead worker spooled is still there.
        assert spool_rows(victim_spool) >= len(spooled[victim])
    finally:
        stack.start_broker()

    records = read_records(settings, TOPIC, until=lambda got: acknowledged <= set(gateway.ours(got)), timeout=180)
    arrived = Counter(gateway.ours(records))
    assert acknowledged <= set(arrived)
    assert {i: n for i, n in arrived.items() if n != 1} == {}  # exactly once, nothing twice
    wait_for(lambda: spool_rows(victim_spool) == 0, 60, "slot 0's spool to be drained")
    log = gateway.log.read_text()
    assert "gateway worker slot 0" in log and "signal SIGKILL" in log
    gateway.stop()
