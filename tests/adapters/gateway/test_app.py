"""Unit tests of the gateway's wiring: routes, answers and the error hierarchy, with a fake publisher.

The integration tests (test_gateway.py) run the same routes against the real broker; these
check, without one, that each route answers what it should and publishes only valid input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.gateway import ApiKeyStore, GatewayConfig, create_app, hash_api_key
from adapters.gateway.exceptions import GatewayError, Rejected
from adapters.sdk import Waiter
from bus.errors import EgovBusError

KEY, OTHER = "egk_" + "a" * 40, "egk_" + "b" * 40
EVENT_ID = "5b1f3f49-6b1e-4d35-8c43-7d0c1f8a7b21"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
BUDGET = {
    "occurred_at": "2025-03-01T10:00:00+07:00", "source_system": "simda", "allocation_id": "DPA-1",
    "fiscal_year": 2025, "agency_code": "1.02.0.00.0.00.01.0000", "program_code": "1.02.02",
    "activity_code": "1.02.02.2.01", "amount": "1500000.00", "event_id": EVENT_ID,
}
COMPLAINT = {"event_type": "ComplaintReceived", "occurred_at": "2025-03-01T08:00:00Z", "category": "kesehatan",
             "channel": "web", "is_anonymous": False, "source_system": "s"}


class FakePublisher:
    """Builds real typed events (no NIK handling) and records what it was asked to publish."""

    mode = "direct"
    spool = None
    ack_timeout_s = 40.0

    def __init__(self) -> None:
        self.published: list[tuple[list[Any], dict[str, Any]]] = []

    def build(self, et: Any, fields: dict[str, Any]) -> Any:
        data = dict(fields)
        envelope = {name: data.pop(name, None) for name in ("region_code", "source_system", "occurred_at", "event_id")}
        return et.model.new(**envelope, **data)

    def submit(self, events: list[Any], *, traceparents: list[str | None] | None = None,
               on_done: Any = None) -> Waiter:
        # What the gateway uses: every event acknowledged at once, on_done called as the real one does.
        self.published.append((events, {"traceparents": traceparents}))
        waiter = Waiter([e.envelope.event_id for e in events], on_done)
        for index in range(len(events)):
            waiter.resolve(index, "acked")
        return waiter

    def broker_reachable(self, timeout: float = 2.0) -> bool:
        return True


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def client(publisher: FakePublisher) -> Iterator[TestClient]:
    keys = ApiKeyStore([(hash_api_key(KEY), "32.01", "bogor"), (hash_api_key(OTHER), "33", "jateng")])
    closed: list[bool] = []
    app = create_app(publisher, keys, GatewayConfig(max_body_bytes=4096, max_batch_events=3),  # type: ignore[arg-type]
                     on_shutdown=lambda: closed.append(True))
    with TestClient(app) as test_client:
        yield test_client
    assert closed == [True]


def post(client: TestClient, path: str, body: Any, key: str | None = KEY, **headers: str):
    if key is not None:
        headers["X-API-Key"] = key
    return client.post(path, json=body, headers=headers)


def test_rejected_is_in_the_error_hierarchy() -> None:
    exc = Rejected(403, "forbidden", "budgeting", "not your region")
    assert isinstance(exc, GatewayError) and isinstance(exc, EgovBusError)
    assert exc.to_dict() == {"error": "Rejected", "message": "not your region", "status": 403,
                             "reason": "forbidden", "theme": "budgeting"}


def test_one_event_is_published_with_the_callers_traceparent(client, publisher) -> None:
    response = post(client, "/v1/events/BudgetAllocated", BUDGET, traceparent=TRACEPARENT)
    assert (response.status_code, response.json()) == (202, {"event_id": EVENT_ID, "status": "acked"})
    [(events, options)] = publisher.published
    assert [e.envelope.region_code for e in events] == ["32.01"]
    assert options == {"traceparents": [TRACEPARENT]}


@pytest.mark.parametrize(
    ("body", "key", "status", "detail"),
    [
        (BUDGET, None, 401, "missing or unknown API key"),
        (BUDGET, "egk_wrong", 401, "missing or unknown API key"),
        ({**BUDGET, "region_code": "33"}, KEY, 403, "the API key belongs to region 32.01, the event says '33'"),
        ({**BUDGET, "allocation_id": "x" * 5000}, KEY, 413, "body over 4096 bytes"),
        ([1, 2], KEY, 422, [{"loc": ["body"], "msg": "must be a JSON object", "type": "object_type"}]),
    ],
)
def test_refusals_publish_nothing(client, publisher, body, key, status, detail) -> None:
    response = post(client, "/v1/events/BudgetAllocated", body, key)
    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert publisher.published == []


def test_invalid_fields_are_named_with_flat_paths(client, publisher) -> None:
    response = post(client, "/v1/events/BudgetAllocated", {**BUDGET, "fiscal_year": 1999, "occurred_at": "x"})
    assert response.status_code == 422
    assert sorted(tuple(p["loc"]) for p in response.json()["detail"]) == [("body", "fiscal_year"), ("body", "occurred_at")]
    assert publisher.published == []


def test_unknown_event_type_is_404_after_authentication(client) -> None:
    assert post(client, "/v1/events/NoSuchEvent", BUDGET, None).status_code == 401
    response = post(client, "/v1/events/NoSuchEvent", BUDGET)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("unknown event type 'NoSuchEvent'; known: ApbdAdopted, ")


def test_batch_is_all_or_nothing(client, publisher) -> None:
    bad = post(client, "/v1/batch", {"events": [{**COMPLAINT, "complaint_id": "C-1"},
                                                {**COMPLAINT, "complaint_id": "C-2", "channel": ""},
                                                {"event_type": "Nope"}]})
    assert bad.status_code == 422
    assert [p["loc"] for p in bad.json()["detail"]] == [["body", "events", 1, "channel"], ["body", "events", 2, "event_type"]]
    assert publisher.published == []
    good = post(client, "/v1/batch", {"events": [{**COMPLAINT, "complaint_id": f"C-{i}"} for i in range(2)]})
    assert good.status_code == 202
    assert [s["status"] for s in good.json()["events"]] == ["acked", "acked"]
    [(events, _options)] = publisher.published
    assert [e.complaint_id for e in events] == ["C-0", "C-1"]
    assert post(client, "/v1/batch", {"events": [COMPLAINT] * 4}).json() == {"detail": "more than 3 events"}
    assert post(client, "/v1/batch", {"events": []}).status_code == 422


def test_operations_routes(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "broker": "reachable", "mode": "direct",
                                                       "spool_depth": None})
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/events/BudgetAllocated", "/v1/events/{event_type}", "/v1/batch", "/healthz", "/readyz",
            "/metrics"} <= set(paths)
