"""Store-and-forward across a broker outage, on a private stack (the shared one keeps running).

While the broker is stopped, the SDK and the gateway keep accepting events into their spools;
after it restarts, every accepted event arrives (distinct event ids = accepted) and each
region's events arrive in the order they were accepted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from adapters.gateway import ApiKeyStore, GatewayConfig, build_gateway, hash_api_key, new_api_key
from adapters.sdk import ACKED, SPOOLED, Publisher
from adapters.simulator import generate_events
from devtools.devstack import DevStack
from bus.settings import load_settings
from schemas.cloudevents import parse_headers
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY, read_records

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

SDK_REGIONS = "32.01,33.01,35"
GATEWAY_REGION = "51.71"


@pytest.fixture
def private_stack(tmp_path: Path) -> Iterator[tuple[DevStack, object]]:
    stack = DevStack(tmp_path / "stack")
    info = stack.up(progress=lambda _m: None)
    try:
        settings = load_settings(env_file=None, bootstrap_servers=info.bootstrap_servers,
                                 schema_registry_url=info.schema_registry_url, spool_dir=str(tmp_path / "spool"),
                                 pseudonym_key=SecretStr(TEST_PSEUDONYM_KEY), delivery_timeout_s=60)
        from topics.catalog import load_catalog
        from topics.provision import apply

        apply(AdminClient(settings.librdkafka_config()), load_catalog(), timeout=20)
        yield stack, settings
    finally:
        stack.down()


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.1)


def complaint(i: int) -> dict:
    return {"occurred_at": "2025-03-01T08:00:00Z", "complaint_id": f"GW-{i:04d}", "category": "kesehatan",
            "channel": "web", "is_anonymous": False}


def test_events_accepted_during_an_outage_all_arrive_in_order(private_stack) -> None:
    stack, settings = private_stack
    key = new_api_key()
    sdk = Publisher(settings, source_system="sipd", component="sdk", probe_interval_s=0.2, max_backoff_s=1.0)
    app, gateway_publisher = build_gateway(settings, GatewayConfig(ack_timeout_s=90),
                                           keys=ApiKeyStore([(hash_api_key(key), GATEWAY_REGION, "bali")]),
                                           probe_interval_s=0.2, max_backoff_s=1.0)
    events = list(generate_events(99, 600, regions=SDK_REGIONS, themes="complaints,licensing"))
    accepted_sdk: list[str] = []
    accepted_gateway: list[str] = []
    with TestClient(app) as client:

        def post(i: int) -> dict:
            response = client.post("/v1/events/ComplaintReceived", json=complaint(i), headers={"X-API-Key": key})
            assert response.status_code == 202, response.text
            accepted_gateway.append(response.json()["event_id"])
            return response.json()

        # broker up: straight through
        results = sdk.publish_many_acked(events[:200])
        assert {r.outcome for r in results} == {ACKED}
        accepted_sdk += [r.event_id for r in results]
        assert {post(i)["status"] for i in range(10)} == {ACKED}

        stack.stop_broker()
        # broker down: both keep accepting, into their spools. First streamed (their failure
        # reports come back without headers; the spool must rebuild them), then confirmed.
        accepted_sdk += sdk.publish_many(events[200:260])
        sdk.flush(timeout=90)
        outcomes = []
        for start in range(260, 500, 60):
            results = sdk.publish_many_acked(events[start:start + 60], timeout=90)
            outcomes += [r.outcome for r in results]
            accepted_sdk += [r.event_id for r in results]
        assert outcomes[-60:] == [SPOOLED] * 60 and set(outcomes) <= {ACKED, SPOOLED}
        accepted_sdk += sdk.publish_many(events[500:])  # fire and forget, then flush
        sdk.flush(timeout=90)
        gateway_statuses = [post(i)["status"] for i in range(10, 40)]
        assert gateway_statuses[-1] == SPOOLED
        assert sdk.spool.depth > 0 and gateway_publisher.spool.depth > 0
        assert REGISTRY.get_sample_value("egov_spool_depth_events") >= sdk.spool.depth
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["broker"] == "unreachable"

        stack.start_broker()
        wait_for(lambda: sdk.spool.depth == 0 and gateway_publisher.spool.depth == 0 and sdk.mode == "direct", 120,
                 "the spools to drain")
        results = sdk.publish_many_acked(events[:1])  # and direct again afterwards
        assert results[0].outcome == ACKED and sdk.mode == "direct"
    sdk.close()

    assert len(accepted_sdk) == 600 and len(accepted_gateway) == 40
    region_of = {e.event_id: e.region_code for e in events} | {i: GATEWAY_REGION for i in accepted_gateway}
    records = []
    for topic in ("egov.complaints.events", "egov.licensing.events"):
        records += read_records(settings, topic)
    for record in records:  # headers intact, also for records that came back from the spool
        parse_headers(record.headers)
    assert {r.headers["ce_id"].decode() for r in records} == set(accepted_sdk) | set(accepted_gateway)

    # Order per region and topic: first appearances follow the order of acceptance.
    accepted = accepted_sdk + accepted_gateway
    for region in [*SDK_REGIONS.split(","), GATEWAY_REGION]:
        for topic in ("egov.complaints.events", "egov.licensing.events"):
            mine = sorted((r for r in records if r.key == region and r.topic == topic), key=lambda r: r.offset)
            arrived = list(dict.fromkeys(r.headers["ce_id"].decode() for r in mine))
            assert arrived == [i for i in accepted if region_of[i] == region and i in set(arrived)], (region, topic)
            assert all(region_of[i] == region for i in arrived)
