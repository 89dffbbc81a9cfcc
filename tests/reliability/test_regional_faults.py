"""The two regional faults on the 3-broker cluster: a region's spool disk runs full, a region's network is cut.

Both cut one region off with :mod:`tests.reliability.relay` (its clients bootstrap from the relay ports
the brokers advertise to it, so every connection it has goes through a relay and nobody else's does),
while a real worker processes; then the harness's checks (:mod:`tests.reliability.checks`) and a row of
the results file.

1. **Spool disk full** at the gateway: its spool on a small tmpfs (:mod:`tests.reliability.small_fs`),
   the cluster cut off, HTTP posts until the disk is full: 503 with ``Retry-After``, never a 500; the
   disk stays full while the link comes back (the spool sends what it holds and must not send it twice);
   then the ballast goes: 202 again, the spool empty, every 202 in its topic exactly once.
2. **Network cut** for ``EGOV_TEST_CUT_SECONDS`` (default 120): a region's simulator spools, the other
   regions' simulator keeps flowing, then the region drains in order (per region and topic, the
   topic's order is the acceptance order).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from adapters.gateway import hash_api_key, new_api_key
from adapters.sdk.builder import EventBuilder
from devtools.devstack import process as procs
from schemas.cloudevents import HEADER_ID
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY
from tests.fixtures.gateway_process import Answer, Connection, GatewayProcess, outcome
from tests.fixtures.views_oracle import scan_topic
from tests.reliability.harness import (
    TAIL_S,
    WARMUP_S,
    Accepted,
    Cluster,
    FaultBed,
    conclude,
    wait_for,
)
from tests.reliability.relay import Relays, relays_for
from tests.reliability.small_fs import Ballast, free_bytes, small_filesystem

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.faults]

CUT_S = float(os.environ.get("EGOV_TEST_CUT_SECONDS", "120"))
MIB = 1 << 20
#: The gateway's region, and the region cut off in the network fault (the others publish directly).
GATEWAY_REGION = "32.01"
CUT_REGION = "32.01"
OTHER_REGIONS = "33,35"
#: The gateway's spool disk, and the free space its spool keeps (EGOV_SPOOL_MIN_FREE_MB).
DISK_MB = 32
RESERVE_MB = 4


@pytest.fixture
def relays(cluster: Cluster) -> Iterator[Relays]:
    """One region's link to the cluster: a relay per node, running (not cut) at the start."""
    with relays_for(cluster.info.nodes) as running:
        yield running


# -- the gateway as a real process ---------------------------------------------------------------


@contextmanager
def running_gateway(bed: FaultBed, spool_dir: Path, bootstrap_servers: str) -> Iterator[GatewayProcess]:
    """The gateway on ``bed``'s topics, its spool in ``spool_dir``, reaching Kafka at ``bootstrap_servers``."""
    key = new_api_key()
    keys_file = bed.workdir / "gateway-keys.json"
    keys_file.write_text(json.dumps({"keys": [{"region_code": GATEWAY_REGION, "name": "fault", "rate": 0,
                                               "hash": hash_api_key(key)}]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update(bed.cluster.env())
    # The key reaches the child by its environment, never its arguments.
    env.update(EGOV_BOOTSTRAP_SERVERS=bootstrap_servers, EGOV_SPOOL_DIR=str(spool_dir),
               EGOV_SPOOL_MIN_FREE_MB=str(RESERVE_MB), EGOV_GATEWAY_API_KEYS_FILE=str(keys_file),
               EGOV_PSEUDONYM_KEY=TEST_PSEUDONYM_KEY, EGOV_SCHEMA_AUTO_REGISTER="false")
    port = procs.free_port()
    log = bed.workdir / "gateway.log"
    record = procs.start("gateway", [sys.executable, "-m", "tests.reliability.gateway_main", "--port", str(port),
                                     "--topic-prefix", bed.prefix], log, env=env, cwd=Path(__file__).parents[2])
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert procs.is_running(record), f"the gateway exited:\n{procs.log_tail(log)}"
        return procs.port_open(port)

    try:
        wait_for(healthy, 60, "the gateway to listen", interval=0.2)
        yield GatewayProcess(url, key, record, log)
    finally:
        assert procs.stop(record, timeout=30), f"the gateway was not running at the end:\n{procs.log_tail(log)}"


class Client:
    """Posts complaints to the gateway over a few keep-alive connections; keeps every answer and the
    event it was for (the oracle recomputes the views from the 202s)."""

    def __init__(self, gateway: GatewayProcess, settings) -> None:
        self.gateway = gateway
        self.builder = EventBuilder(settings, source_system="gateway")
        self.answers: list[tuple[Answer, object]] = []
        self.count = 0

    def body(self) -> dict:
        self.count += 1
        return {"occurred_at": f"2025-03-{1 + self.count % 28:02d}T08:00:00Z", "event_id": str(uuid.uuid4()),
                "complaint_id": f"GW-{self.count:06d}", "category": "kesehatan", "channel": "web",
                "is_anonymous": False}

    def event(self, body: dict):
        fields = {k: v for k, v in body.items() if k != "event_id"}
        return self.builder.build("ComplaintReceived", fields, region_code=GATEWAY_REGION, event_id=body["event_id"])

    def post(self, n: int, *, clients: int = 1, until=None) -> list[Answer]:
        """``n`` posts on ``clients`` connections (each one after the other on its connection), or until
        ``until(answers of this call)`` holds; returns this call's answers."""
        got: list[Answer] = []

        async def run() -> None:
            left = [n]

            async def one(connection: Connection) -> None:
                while left[0] > 0 and not (until and until(got)):
                    left[0] -= 1
                    body = self.body()
                    answer = await connection.post("/v1/events/ComplaintReceived", body)
                    got.append(answer)
                    kept = answer.status == 202 or outcome(answer) == "waited"
                    self.answers.append((answer, self.event(body) if kept else None))

            connections = [await Connection.open(self.gateway) for _ in range(clients)]
            try:
                await asyncio.gather(*(one(c) for c in connections))
            finally:
                for connection in connections:
                    connection.close()

        asyncio.run(run())
        return got

    def accepted_events(self) -> list:
        """The events answered 202, and those answered "waited": their records stay in the producer
        (never purged and sent again), so they reach the topic once the link is back."""
        return [event for _answer, event in self.answers if event is not None]




def topic_count(bed: FaultBed, topic: str, ids: set[str]) -> int:
    """How many records of ``topic`` carry one of ``ids``."""
    seen = [0]

    def count(msg) -> None:
        headers = dict(msg.headers() or [])
        if headers.get(HEADER_ID, b"").decode() in ids:
            seen[0] += 1

    scan_topic(bed.settings, topic, count, idle_timeout=10)
    return seen[0]


# -- 1. the spool's disk runs full ------------------------------------------------------------------


@pytest.mark.timeout(1200)
def test_spool_disk_full_at_the_gateway_503_with_retry_after_and_nothing_accepted_lost(
        bed: FaultBed, relays: Relays) -> None:
    fault = "spool disk full at a region (gateway)"
    bed.start_worker()
    topic = f"{bed.prefix}.egov.complaints.events"
    with small_filesystem(bed.workdir / "gateway-spool", DISK_MB) as disk, \
            running_gateway(bed, disk, relays.bootstrap_servers) as gateway:
        client = Client(gateway, bed.settings)
        ballast = Ballast(disk)
        # Through the link: acknowledged by the brokers.
        assert Counter(map(outcome, client.post(50))) == {"acked": 50}
        # Cut between two requests (none in flight). The first request after it may reach the producer
        # before the loss is noticed: its record waits there and the answer is 503 after the gateway's
        # ack timeout ("waited"); it is delivered when the link is back. The rest are spooled.
        relays.cut()
        began = time.monotonic()
        spooled = client.post(40)
        counts = Counter(map(outcome, spooled))
        assert counts["spooled"] + counts["waited"] == 40 and counts["waited"] <= 1, counts
        # The region's disk fills (other data): the spool grows into what is left, then refuses.
        ballast.fill(leave=(RESERVE_MB + 2) * MIB)
        filling = client.post(20_000, clients=4, until=lambda got: sum(a.status == 503 for a in got) >= 40)
        refused = [a for a in filling if a.status == 503]
        assert len(refused) >= 40, Counter(map(outcome, filling))
        assert {outcome(a) for a in filling} <= {"spooled", "503"}, Counter(map(outcome, filling))  # never a 500
        assert all(a.headers.get("retry-after", "").isdigit() for a in refused), [a.headers for a in refused[:3]]
        assert free_bytes(disk) < RESERVE_MB * MIB
        # Then nothing at all is left (another process took the rest): still 503, still nothing lost.
        ballast.fill()
        full = client.post(20)
        assert [a.status for a in full] == [503] * 20 and all(a.headers["retry-after"].isdigit() for a in full)
        accepted_202 = {a.body["event_id"] for a, _ in client.answers if a.status == 202}
        waited = {event.event_id for a, event in client.answers if outcome(a) == "waited"}
        spooled_202 = {a.body["event_id"] for a, _ in client.answers if outcome(a) == "spooled"}
        # The link comes back while the disk is still full: the spool sends what it holds, and what it
        # cannot delete yet it never sends again.
        relays.restore()
        wait_for(lambda: topic_count(bed, topic, spooled_202) >= len(spooled_202), 300,
                 "the spooled events to reach their topic while the disk is full", interval=2.0)
        assert free_bytes(disk) == 0
        # Space returns: the spool deletes what it sent, the gateway accepts again.
        ballast.free()
        space_back = time.monotonic()
        wait_for(lambda: gateway.metric("egov_spool_depth_events") == 0, 300, "the gateway's spool to drain")
        drained_s = time.monotonic() - space_back
        # The publisher turns direct on its first probe after the spool is empty (one 50 ms pump
        # interval, longer on a loaded machine: the first clean-clone run's next 50 posts all came
        # in before it and were spooled, then forwarded). Posts until then are accepted like any other.
        wait_for(lambda: outcome(client.post(1)[0]) == "acked", 60, "the gateway to publish directly again",
                 interval=0.1)
        after = client.post(50)
        assert Counter(map(outcome, after)) == {"acked": 50}, Counter(map(outcome, after))
        events = client.accepted_events()
        accepted = Accepted.of(events, bed.prefix)
        answered_202 = {a.body["event_id"] for a, _ in client.answers if a.status == 202}
        assert accepted_202 | {a.body["event_id"] for a in after} <= answered_202
        assert set(accepted.ids) == answered_202 | {str(e) for e in waited}
        measured = {"fault_s": round(space_back - began, 1), "spooled_202": len(spooled_202), "waited_503": len(waited),
                    "refused_503": sum(a.status == 503 for a, _ in client.answers),
                    "retry_after": sorted({a.headers["retry-after"] for a, _ in client.answers if a.status == 503}),
                    "spool_drained_s": round(drained_s, 1)}
        try:
            measured["recover_s"] = round(bed.wait_recovered(accepted, space_back), 1)
        except AssertionError as exc:
            measured["recover_s"] = None
            measured["not_recovered"] = str(exc).splitlines()[0]
        spool_file = disk / "gateway.sqlite"
        report = bed.check_all(accepted, spools=[spool_file])
    if measured.get("not_recovered"):
        report.failures.insert(0, measured["not_recovered"])
    conclude(fault, report, **measured)


# -- 2. a region's network is cut ------------------------------------------------------------------------


def region_order(bed: FaultBed, topics: list[str], region: str) -> dict[str, list[str]]:
    """``topic -> ce_ids`` of ``region``'s records in the topic's order (one key: one partition)."""
    found: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for topic in topics:

        def keep(msg, topic: str = topic) -> None:
            if msg.key() is not None and msg.key().decode() == region:
                found[topic].append((msg.partition(), msg.offset(), dict(msg.headers() or [])[HEADER_ID].decode()))

        scan_topic(bed.settings, topic, keep, idle_timeout=10)
    return {topic: [i for _p, _o, i in sorted(rows)] for topic, rows in found.items()}


@pytest.mark.timeout(int(CUT_S) + 1500)
def test_network_cut_for_one_region_it_spools_then_drains_in_order_while_the_others_flow(
        bed: FaultBed, relays: Relays) -> None:
    fault = f"network cut for one region ({CUT_S:.0f} s)"
    bed.start_worker()
    # The worker first (its start takes a while on a loaded machine): the fault must fall inside the runs.
    bed.start_simulator(rate=20, duration=1, seed=1504, regions="51", name="warm-up")
    wait_for(lambda: bed.committed() > 0, 300, "the worker to commit the warm-up's events")
    committed_before = bed.committed()
    duration = WARMUP_S + CUT_S + TAIL_S
    cut_region = bed.start_simulator(rate=50, duration=duration, seed=1505, regions=CUT_REGION, name="cut-region",
                                     extra_env={"EGOV_BOOTSTRAP_SERVERS": relays.bootstrap_servers})
    others = bed.start_simulator(rate=150, duration=duration, seed=1506, regions=OTHER_REGIONS, name="other-regions")

    def warm() -> bool:
        assert bed.worker is not None and bed.worker.alive(), f"the worker died before the fault\n{bed.worker_log()}"
        return time.monotonic() - cut_region.began >= WARMUP_S and bed.committed() > committed_before

    wait_for(warm, WARMUP_S + 120, "the worker to commit its first events")
    relays.cut()
    began = time.monotonic()
    committed_at_cut = bed.committed()
    bed.hold(CUT_S)
    # The region spooled, the others flowed: the worker committed events while the region was cut off.
    committed_during = bed.committed() - committed_at_cut
    depth_at_end = cut_region.spool_depth()
    relays.restore()
    fault_end = time.monotonic()
    assert depth_at_end > 0, f"the cut region spooled nothing during the cut\n{cut_region.log_tail()}"
    assert committed_during >= 150 * CUT_S / 2, f"only {committed_during} events committed during the cut"
    wait_for(lambda: cut_region.spool_depth() == 0, 600, "the cut region's spool to drain", interval=0.5)
    drained_s = time.monotonic() - fault_end
    cut_region.wait_ok(timeout=TAIL_S + 600)
    others.wait_ok(timeout=TAIL_S + 600)
    accepted = bed.accepted()
    measured = {"fault_s": round(fault_end - began, 1), "spooled_at_cut_end": depth_at_end,
                "committed_during_cut": committed_during, "spool_drained_s": round(drained_s, 1)}
    try:
        measured["recover_s"] = round(bed.wait_recovered(accepted, fault_end), 1)
    except AssertionError as exc:
        measured["recover_s"] = None
        measured["not_recovered"] = str(exc).splitlines()[0]
    report = bed.check_all(accepted)
    # In order: per topic, the region's records in the order the simulator accepted them.
    expected: dict[str, list[str]] = defaultdict(list)
    for event in cut_region.accepted_events():
        expected[accepted.ids[str(event.envelope.event_id)]].append(str(event.envelope.event_id))
    got = region_order(bed, sorted(expected), CUT_REGION)
    out_of_order = [t for t in expected if got.get(t) != expected[t]]
    measured["out_of_order_topics"] = len(out_of_order)
    if out_of_order:
        report.failures.append(f"{len(out_of_order)} topic(s) where {CUT_REGION}'s events are not in acceptance "
                               f"order: {', '.join(out_of_order[:5])}")
    if measured.get("not_recovered"):
        report.failures.insert(0, measured["not_recovered"])
    conclude(fault, report, rate=200, **measured)
