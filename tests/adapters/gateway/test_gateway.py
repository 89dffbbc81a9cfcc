"""The ingest gateway against the real broker and registry: status codes and what lands on the topics."""

from __future__ import annotations

import subprocess
import time
import uuid

import httpx
import pytest

from adapters.privacy import Pseudonymizer
from devtools.devstack import process
from bus.serde import AvroDeserializer
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY, EGOV_BUS, cli_env, end_offsets, event_ids, read_records

pytestmark = pytest.mark.integration

BUDGET = {
    "occurred_at": "2025-03-01T10:00:00+07:00", "source_system": "simda", "allocation_id": "DPA-1",
    "fiscal_year": 2025, "agency_code": "1.02.0.00.0.00.01.0000", "program_code": "1.02.02",
    "activity_code": "1.02.02.2.01", "amount": "1500000.00",
}


def test_valid_event_is_202_and_on_its_theme_topic(gateway, adapter_settings, registry) -> None:
    since = end_offsets(adapter_settings, "egov.budgeting.events")
    response = gateway.post("/v1/events/BudgetAllocated", BUDGET)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "acked"
    records = read_records(adapter_settings, "egov.budgeting.events", since=since,
                           until=lambda got: body["event_id"] in event_ids(got))
    record = next(r for r in records if r.headers["ce_id"].decode() == body["event_id"])
    assert record.key == "32.01"
    value = AvroDeserializer(registry)(record.value).value
    assert value["envelope"]["region_code"] == "32.01" and value["envelope"]["source_system"] == "simda"
    assert str(value["amount"]) == "1500000.00"


def test_an_event_id_from_the_client_is_kept(gateway) -> None:
    event_id = "5b1f3f49-6b1e-4d35-8c43-7d0c1f8a7b21"
    response = gateway.post("/v1/events/BudgetAllocated", {**BUDGET, "event_id": event_id})
    assert (response.status_code, response.json()["event_id"]) == (202, event_id)


def test_wrong_region_is_403(gateway) -> None:
    response = gateway.post("/v1/events/BudgetAllocated", {**BUDGET, "region_code": "33"})
    assert response.status_code == 403
    assert "32.01" in response.json()["detail"]
    assert gateway.post("/v1/events/BudgetAllocated", {**BUDGET, "region_code": "32.01"}).status_code == 202


@pytest.mark.parametrize("key", [None, "egk_wrong", ""])
def test_missing_or_bad_key_is_401(gateway, key) -> None:
    response = gateway.post("/v1/events/BudgetAllocated", BUDGET, key=key)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "ApiKey"


def test_bearer_token_works_too(gateway) -> None:
    response = gateway.post("/v1/events/BudgetAllocated", BUDGET, key=None,
                            headers={"Authorization": f"Bearer {gateway.key}"})
    assert response.status_code == 202


def test_invalid_field_is_422_naming_it(gateway) -> None:
    response = gateway.post("/v1/events/BudgetAllocated", {**BUDGET, "amount": "-5", "fiscal_year": 1999})
    assert response.status_code == 422
    problems = {tuple(p["loc"]): p["type"] for p in response.json()["detail"]}
    assert problems == {("body", "amount"): "non_negative", ("body", "fiscal_year"): "fiscal_year_range"}
    missing = gateway.post("/v1/events/BudgetAllocated", {k: v for k, v in BUDGET.items() if k != "occurred_at"})
    assert missing.status_code == 422
    assert ["body", "occurred_at"] in [p["loc"] for p in missing.json()["detail"]]
    naive = gateway.post("/v1/events/BudgetAllocated", {**BUDGET, "occurred_at": "2025-03-01T10:00:00"})
    assert [p["loc"] for p in naive.json()["detail"]] == [["body", "occurred_at"]]
    not_json = gateway.post("/v1/events/BudgetAllocated", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 422


def test_raw_nik_outside_the_nik_field_is_422(gateway) -> None:
    response = gateway.post("/v1/events/BudgetAllocated", {**BUDGET, "allocation_id": "3201014501900001"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "allocation_id"]
    assert "3201014501900001" not in response.text


def test_control_character_and_code_shape_are_422_naming_the_field(gateway) -> None:
    # Issue 11: a NUL byte (PostgreSQL cannot store it) was accepted in an agency code.
    response = gateway.post("/v1/events/BudgetAllocated", {**BUDGET, "agency_code": "1.02\u0000"})
    assert response.status_code == 422
    assert [(p["loc"], p["type"]) for p in response.json()["detail"]] == [(["body", "agency_code"], "control_character")]
    shape = gateway.post("/v1/events/BudgetAllocated", {**BUDGET, "program_code": "1.2.02"})
    assert [(p["loc"], p["type"]) for p in shape.json()["detail"]] == [(["body", "program_code"], "program_code")]


def test_oversized_body_is_413(gateway) -> None:
    response = gateway.post("/v1/events/BudgetAllocated", {**BUDGET, "allocation_id": "x" * 70_000})
    assert response.status_code == 413


def test_unknown_event_type_is_404(gateway) -> None:
    assert gateway.post("/v1/events/NoSuchEvent", BUDGET).status_code == 404
    assert gateway.post("/v1/events/NoSuchEvent", BUDGET, key=None).status_code == 401


def test_nik_is_pseudonymized_at_the_gateway(gateway, adapter_settings, registry) -> None:
    since = end_offsets(adapter_settings, "egov.population.events")
    nik = "3201014501250001"
    response = gateway.post("/v1/events/BirthRegistered", {
        "occurred_at": "2025-03-01T08:00:00Z", "nik": nik, "registration_delay_days": 3})
    assert response.status_code == 202, response.text
    event_id = response.json()["event_id"]
    records = read_records(adapter_settings, "egov.population.events", since=since,
                           until=lambda got: event_id in event_ids(got))
    record = next(r for r in records if r.headers["ce_id"].decode() == event_id)
    assert nik.encode() not in record.value and all(nik.encode() not in v for v in record.headers.values())
    value = AvroDeserializer(registry)(record.value).value
    assert value["nik_pseudonym"] == Pseudonymizer(TEST_PSEUDONYM_KEY).pseudonym(nik)
    assert (value["sex"], value["age_band"], value["district_code"]) == ("P", "0-4", "32.01.01")
    bad = gateway.post("/v1/events/BirthRegistered", {"occurred_at": "2025-03-01T08:00:00Z",
                                                      "nik": "3201019913250001", "registration_delay_days": 3})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "nik"]


def test_batch_is_all_or_nothing(gateway, adapter_settings) -> None:
    since = end_offsets(adapter_settings, "egov.complaints.events")
    # A source of its own: other tests (the simulator) publish complaints of 32.01 at the same time.
    source = f"batchtest-{uuid.uuid4().hex[:8]}"
    complaint = {"event_type": "ComplaintReceived", "occurred_at": "2025-03-01T08:00:00Z", "category": "kesehatan",
                 "channel": "web", "is_anonymous": False, "source_system": source}
    bad = gateway.post("/v1/batch", {"events": [
        {**complaint, "complaint_id": "C-1"}, {**complaint, "complaint_id": "C-2", "channel": ""},
        {"event_type": "Nope"}]})
    assert bad.status_code == 422
    assert {tuple(p["loc"]) for p in bad.json()["detail"]} == {("body", "events", 1, "channel"),
                                                                ("body", "events", 2, "event_type")}
    good = gateway.post("/v1/batch", {"events": [{**complaint, "complaint_id": f"C-{i}"} for i in range(3)]})
    assert good.status_code == 202, good.text
    ids = [e["event_id"] for e in good.json()["events"]]
    records = read_records(adapter_settings, "egov.complaints.events", since=since,
                           until=lambda got: set(ids) <= set(event_ids(got)))
    assert len([i for i in event_ids(records) if i in ids]) == 3  # and nothing from the refused batch
    ours = [r for r in records if r.headers["ce_source"].decode().endswith("/" + source)]
    assert sorted(r.headers["ce_id"].decode() for r in ours) == sorted(ids)  # nothing from the refused batch
    forbidden = gateway.post("/v1/batch", {"events": [{**complaint, "complaint_id": "C-9", "region_code": "33"}]})
    assert forbidden.status_code == 403
    too_many = gateway.post("/v1/batch", {"events": [{**complaint, "complaint_id": "C"}] * 51})
    assert too_many.status_code == 413


def test_operations_endpoints(gateway) -> None:
    gateway.post("/v1/events/BudgetAllocated", BUDGET, key="egk_wrong")
    assert gateway.client.get("/healthz").json() == {"status": "ok"}
    ready = gateway.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["broker"] == "reachable"
    metrics = gateway.client.get("/metrics").text
    assert 'egov_gateway_events_rejected_total{reason="unauthorized",theme="budgeting"}' in metrics
    assert "egov_spool_depth_events" in metrics and "egov_publisher_events_published_total" in metrics
    docs = gateway.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = gateway.client.get("/openapi.json").json()["paths"]
    assert "/v1/events/BudgetAllocated" in paths and "/v1/batch" in paths


def test_the_egov_bus_gateway_command_serves(adapter_settings, theme_topics, tmp_path) -> None:
    from adapters.gateway import hash_api_key, new_api_key

    key = new_api_key()
    port = process.free_port()
    log = tmp_path / "gateway.log"
    record = process.start("gateway", [EGOV_BUS, "gateway", "--port", str(port), "--log-level", "warning"], log,
                           env=cli_env(adapter_settings, EGOV_GATEWAY_API_KEYS=f"32.01={hash_api_key(key)}"))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.is_running(record), process.log_tail(log)
            assert time.monotonic() < deadline, process.log_tail(log)
            time.sleep(0.2)
        response = httpx.post(f"http://127.0.0.1:{port}/v1/events/BudgetAllocated", json=BUDGET,
                              headers={"X-API-Key": key}, timeout=30)
        assert response.status_code == 202, response.text
    finally:
        assert process.stop(record, timeout=20)
    assert key not in log.read_text()
