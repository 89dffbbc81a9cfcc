"""How an ingest request waits for its events, with a fake publisher that resolves them when told.

Each request awaits only its own events (a future completed from ``on_done`` on another thread);
in-flight events are bounded (503 ``overloaded`` with ``Retry-After`` beyond the bound); a request
whose events take too long is a 503 and keeps its slot until they resolve; while spooling,
``submit`` (an fsync per write) runs off the event loop. ``egov_gateway_requests_in_flight``
counts the requests being handled.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
from prometheus_client import REGISTRY

from adapters.gateway import ApiKeyStore, GatewayConfig, create_app, hash_api_key
from adapters.sdk import Waiter

KEY = "egk_" + "c" * 40
BUDGET = {
    "occurred_at": "2025-03-01T10:00:00+07:00", "source_system": "simda", "allocation_id": "DPA-1",
    "fiscal_year": 2025, "agency_code": "1.02.0.00.0.00.01.0000", "program_code": "1.02.02",
    "activity_code": "1.02.02.2.01", "amount": "1500000.00",
}


class HeldPublisher:
    """Sends nothing: keeps each submitted waiter until :meth:`resolve_all`, from a thread of its own."""

    ack_timeout_s = 30.0

    def __init__(self, mode: str = "direct") -> None:
        self.built = 0
        self.mode = mode
        self.spool = None
        self.waiters: list[Waiter] = []
        self.submit_threads: list[str] = []

    def build(self, et: Any, fields: dict[str, Any]) -> Any:
        self.built += 1
        data = dict(fields)
        envelope = {name: data.pop(name, None) for name in ("region_code", "source_system", "occurred_at", "event_id")}
        return et.model.new(**envelope, **data)

    def submit(self, events: list[Any], *, traceparents: Any = None, on_done: Any = None) -> Waiter:
        self.submit_threads.append(threading.current_thread().name)
        waiter = Waiter([e.envelope.event_id for e in events], on_done)
        self.waiters.append(waiter)
        return waiter

    def resolve_all(self, outcome: str = "acked") -> None:
        """Resolve every held waiter on another thread, as the reports thread does."""
        thread = threading.Thread(target=lambda: [w.resolve_rest(outcome) for w in self.waiters])
        thread.start()
        thread.join(5)

    def broker_reachable(self, timeout: float = 2.0) -> bool:
        return True


def client(publisher: HeldPublisher, **config: Any) -> httpx.AsyncClient:
    app = create_app(publisher, ApiKeyStore([(hash_api_key(KEY), "32.01", "bogor")]),  # type: ignore[arg-type]
                     GatewayConfig(**config))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


def post(http: httpx.AsyncClient) -> Any:
    return http.post("/v1/events/BudgetAllocated", json=BUDGET, headers={"X-API-Key": KEY})


async def until(condition, timeout: float = 5.0) -> None:
    """Let the event loop run until ``condition()`` holds (bounded)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0)


def in_flight() -> float:
    return REGISTRY.get_sample_value("egov_gateway_requests_in_flight")


def rejected(reason: str) -> float:
    return REGISTRY.get_sample_value("egov_gateway_events_rejected_total",
                                     {"theme": "budgeting", "reason": reason}) or 0.0


def test_requests_wait_for_their_own_events_and_in_flight_events_are_bounded() -> None:
    publisher = HeldPublisher()

    async def scenario() -> None:
        before = in_flight()
        overloaded = rejected("overloaded")
        async with client(publisher, max_in_flight=2) as http:
            first = asyncio.create_task(post(http))
            second = asyncio.create_task(post(http))
            await until(lambda: len(publisher.waiters) == 2)
            assert in_flight() == before + 2  # both handled now, neither answered
            built = publisher.built
            third = await post(http)  # 2 events in flight: the bound
            assert (third.status_code, third.headers["retry-after"]) == (503, "1")
            assert publisher.built == built  # refused before its body was read or built
            assert "limit 2" in third.json()["detail"]
            assert rejected("overloaded") == overloaded + 1
            publisher.waiters[1].resolve_rest("acked")  # the second's events only
            answer = await second
            assert (answer.status_code, answer.json()["status"]) == (202, "acked")
            assert not first.done()
            publisher.resolve_all("spooled")
            answer = await first
            assert (answer.status_code, answer.json()["status"]) == (202, "spooled")
            fourth = asyncio.create_task(post(http))  # room again once they resolved
            await until(lambda: len(publisher.waiters) == 3)
            publisher.resolve_all()
            assert (await fourth).status_code == 202
        assert set(publisher.submit_threads) == {threading.current_thread().name}  # on the event loop

    asyncio.run(scenario())
    assert in_flight() == 0.0


def test_a_refused_event_is_503() -> None:
    publisher = HeldPublisher()

    async def scenario() -> httpx.Response:
        async with client(publisher) as http:
            request = asyncio.create_task(post(http))
            await until(lambda: len(publisher.waiters) == 1)
            publisher.waiters[0].resolve(0, "failed", "MSG_SIZE_TOO_LARGE: too large")
            return await request

    answer = asyncio.run(scenario())
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
    assert "refused by the broker: MSG_SIZE_TOO_LARGE" in answer.json()["detail"]


def test_a_request_past_the_ack_timeout_is_503_and_its_events_keep_their_slot() -> None:
    publisher = HeldPublisher()

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with client(publisher, ack_timeout_s=0.01, max_in_flight=1) as http:
            late = await post(http)  # nobody resolves it in time
            blocked = await post(http)  # its event is still in flight: the bound holds
            publisher.resolve_all()
            await until(lambda: publisher.waiters[0].done.is_set())
            request = asyncio.create_task(post(http))
            await until(lambda: len(publisher.waiters) == 2)
            publisher.resolve_all()
            return late, blocked, await request

    late, blocked, after = asyncio.run(scenario())
    assert (late.status_code, late.headers["retry-after"]) == (503, "5")
    assert "within 0.01s" in late.json()["detail"]
    assert blocked.status_code == 503 and blocked.headers["retry-after"] == "1"
    assert after.status_code == 202


def test_while_spooling_submit_runs_off_the_event_loop() -> None:
    publisher = HeldPublisher(mode="spooling")

    async def scenario() -> httpx.Response:
        async with client(publisher) as http:
            request = asyncio.create_task(post(http))
            await until(lambda: len(publisher.waiters) == 1)
            publisher.resolve_all("spooled")
            return await request

    answer = asyncio.run(scenario())
    assert (answer.status_code, answer.json()["status"]) == (202, "spooled")
    assert publisher.submit_threads != [threading.current_thread().name]
