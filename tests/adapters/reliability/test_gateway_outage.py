"""``egov-bus gateway`` as a real process under load while its broker is stopped (private stack).

Concurrent clients keep posting: while the broker is away the answers turn into ``spooled`` 202s,
then, once the (small) spool is full, 503 with ``Retry-After``; never a 500. The requests on the wire
when the broker went wait for their records, which stay in the producer (never purged and sent
again), and are answered 503 after ``EGOV_GATEWAY_ACK_TIMEOUT_S``. After the broker is back, every
event that got a 202 is on the topic, and so is each of those.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from bus.retry import RetryPolicy
from bus.settings import EgovSettings, load_settings
from devtools.devstack import DevStack
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY, event_ids, read_records
from tests.fixtures.gateway_process import Answer, Connection, GatewayProcess, outcome, running_gateway

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

TOPIC = "egov.complaints.events"
CLIENTS = 8
SPOOL_LIMIT = 60
WAIT = RetryPolicy(initial_s=0.05, cap_s=0.5, floor_s=0.02)


@pytest.fixture
def private_stack(tmp_path: Path) -> Iterator[tuple[DevStack, EgovSettings]]:
    stack = DevStack(tmp_path / "stack")
    info = stack.up(progress=lambda _m: None)
    try:
        settings = load_settings(env_file=None, bootstrap_servers=info.bootstrap_servers,
                                 schema_registry_url=info.schema_registry_url, spool_dir=str(tmp_path / "spool"),
                                 pseudonym_key=SecretStr(TEST_PSEUDONYM_KEY))
        from topics.catalog import load_catalog
        from topics.provision import apply

        apply(AdminClient(settings.librdkafka_config()), load_catalog(), timeout=20)
        yield stack, settings
    finally:
        stack.down()


def complaint() -> dict:
    return {"occurred_at": "2025-03-01T08:00:00Z", "event_id": str(uuid.uuid4()),
            "complaint_id": f"GW-{uuid.uuid4().hex[:8]}", "category": "kesehatan", "channel": "web",
            "is_anonymous": False}


class Load:
    """CLIENTS connections posting one complaint after another until :meth:`stop`; every answer kept."""

    def __init__(self, gateway: GatewayProcess) -> None:
        self.gateway = gateway
        self.answers: list[Answer] = []
        self.posted: list[str] = []  # the event_id of each answer's request
        self.changed = threading.Condition()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        connections = [await Connection.open(self.gateway) for _ in range(CLIENTS)]
        try:
            await asyncio.gather(*(self._client(c) for c in connections))
        finally:
            for connection in connections:
                connection.close()

    async def _client(self, connection: Connection) -> None:
        while not self._stop.is_set():
            body = complaint()
            answer = await connection.post("/v1/events/ComplaintReceived", body)
            with self.changed:
                self.answers.append(answer)
                self.posted.append(body["event_id"])
                self.changed.notify_all()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, condition, timeout: float, what: str) -> None:
        """Until ``condition(answers)`` holds (checked at each answer), or fail after ``timeout``."""
        with self.changed:
            assert self.changed.wait_for(lambda: condition(self.answers), timeout), (
                f"timed out after {timeout}s waiting for {what}; answers so far: "
                f"{Counter((a.status, a.body.get('status')) for a in self.answers)}")


ACK_TIMEOUT_S = 5




async def load_through_an_outage(gateway: GatewayProcess, stack: DevStack) -> Load:
    load = Load(gateway)
    loop = asyncio.get_running_loop()
    running = asyncio.create_task(load.run())

    def outage() -> None:  # blocking: on a thread, while the clients keep posting
        load.wait(lambda got: sum(outcome(a) == "acked" for a in got) >= 50, 60, "acked answers")
        stack.stop_broker()
        load.wait(lambda got: any(outcome(a) == "spooled" for a in got), 120, "spooled answers")
        load.wait(lambda got: sum(a.status == 503 for a in got) >= 20, 120, "503 answers (spool full)")
        loop.call_soon_threadsafe(load.stop)

    await asyncio.gather(asyncio.to_thread(outage), running)
    return load


def test_broker_stopped_under_load_gives_spooled_then_503_never_500_and_loses_nothing(private_stack,
                                                                                     tmp_path) -> None:
    stack, settings = private_stack
    with running_gateway(settings, tmp_path / "gateway.log", EGOV_SPOOL_MAX_EVENTS=str(SPOOL_LIMIT),
                         EGOV_GATEWAY_ACK_TIMEOUT_S=str(ACK_TIMEOUT_S)) as gateway:
        load = asyncio.run(load_through_an_outage(gateway, stack))
        answers = load.answers
        outcomes = [outcome(a) for a in answers]
        assert set(outcomes) <= {"acked", "spooled", "waited", "503"}, Counter(outcomes)  # never a 500
        assert all(a.headers.get("retry-after", "").isdigit() for a in answers if a.status == 503)
        # In time: acked while the broker was up, spooled once it was gone, 503 once the spool was full;
        # at most one request per client was in the producer when the loss was noticed.
        first_spooled, first_503 = outcomes.index("spooled"), outcomes.index("503")
        assert "503" not in outcomes[:first_spooled] and first_spooled < first_503
        waited = [event_id for event_id, o in zip(load.posted, outcomes) if o == "waited"]
        assert len(waited) <= CLIENTS
        # Full: new events stop at the limit; records taken back from the producer are kept beyond it.
        depth = gateway.metric("egov_spool_depth_events")
        assert depth >= SPOOL_LIMIT and outcomes.count("spooled") == depth  # each spooled 202 is in the spool
        assert gateway.metric("egov_gateway_events_rejected_total", reason="unavailable", theme="complaints") >= 20

        stack.start_broker()
        assert WAIT.wait_until(lambda: gateway.metric("egov_spool_depth_events") == 0, 180), "spool not drained"
        accepted = [a.body["event_id"] for a in answers if a.status == 202]

    records = read_records(settings, TOPIC, until=lambda got: set(accepted) <= set(event_ids(got)), timeout=120)
    assert set(accepted) <= set(event_ids(records))  # every 202 arrived
    # ...and what waited in the producer through the outage was delivered by its retries, once.
    records = read_records(settings, TOPIC, until=lambda got: set(waited) <= set(event_ids(got)), timeout=120)
    assert sorted(e for e in event_ids(records) if e in set(waited)) == sorted(waited)
