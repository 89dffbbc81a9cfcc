"""Concurrent requests against ``egov-bus gateway`` as a real process (real broker and registry).

Every 202 must be on the topic exactly once, and 64 concurrent requests must not be served one
after another: each request waits for its own events' acknowledgements, not for the requests
before it, so they share the broker's round trips.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter

import pytest

from tests.fixtures.adapters import end_offsets, event_ids, read_records
from tests.fixtures.gateway_process import Answer, Connection, GatewayProcess, running_gateway

pytestmark = pytest.mark.integration

TOPIC = "egov.budgeting.events"
CLIENTS = 64
# Served one after another, 64 requests take 64 round trips; concurrently, a few (what is left is
# the gateway's CPU time per request). 16 leaves room for a loaded machine and still fails a gateway
# that serializes; the best of BURSTS bursts is taken, because a serializing gateway is slow in
# every one of them, and a busy machine only in some.
MAX_ROUND_TRIPS = 16
BURSTS = 3


def budget(event_id: str) -> dict:
    return {"occurred_at": "2025-03-01T10:00:00+07:00", "source_system": "simda", "event_id": event_id,
            "allocation_id": f"DPA-{event_id[:8]}", "fiscal_year": 2025, "agency_code": "1.02.0.00.0.00.01.0000",
            "program_code": "1.02.02", "activity_code": "1.02.02.2.01", "amount": "1500000.00"}


async def post(connection: Connection) -> Answer:
    """One new BudgetAllocated."""
    return await connection.post("/v1/events/BudgetAllocated", budget(str(uuid.uuid4())))


async def round_trip_and_burst(gateway: GatewayProcess) -> tuple[float, float, list[Answer]]:
    """(median single-request round trip, best time of CLIENTS concurrent requests, every answer)."""
    connections = [await Connection.open(gateway) for _ in range(CLIENTS)]
    try:
        first = connections[0]
        answers = [await post(first) for _ in range(3)]  # warm: codecs, producer connection
        singles = []
        for _ in range(9):
            start = time.perf_counter()
            answers.append(await post(first))
            singles.append(time.perf_counter() - start)
        answers += await asyncio.gather(*(post(c) for c in connections))  # every connection warm
        bursts = []
        for _ in range(BURSTS):
            start = time.perf_counter()
            answers += await asyncio.gather(*(post(c) for c in connections))
            bursts.append(time.perf_counter() - start)
    finally:
        for connection in connections:
            connection.close()
    return statistics.median(singles), min(bursts), answers


def test_64_concurrent_requests_are_each_on_the_topic_once_and_not_served_one_after_another(
        adapter_settings, theme_topics, tmp_path) -> None:
    since = end_offsets(adapter_settings, TOPIC)
    with running_gateway(adapter_settings, tmp_path / "gateway.log") as gateway:
        single, elapsed, responses = asyncio.run(round_trip_and_burst(gateway))
        assert gateway.metric("egov_gateway_requests_in_flight") == 0.0  # every request answered

    assert [a.status for a in responses] == [202] * len(responses), [a.body for a in responses if a.status != 202][:3]
    accepted = [a.body["event_id"] for a in responses]
    assert {a.body["status"] for a in responses} == {"acked"}
    assert len(set(accepted)) == len(accepted) == 12 + (1 + BURSTS) * CLIENTS
    records = read_records(adapter_settings, TOPIC, since=since,
                           until=lambda got: set(accepted) <= set(event_ids(got)))
    counts = Counter(i for i in event_ids(records) if i in set(accepted))
    assert counts == Counter({i: 1 for i in accepted})  # every 202 exactly once
    assert elapsed < MAX_ROUND_TRIPS * single, (
        f"{CLIENTS} concurrent requests took {elapsed * 1000:.0f} ms, {elapsed / single:.1f} single round "
        f"trips of {single * 1000:.1f} ms: served one after another")
