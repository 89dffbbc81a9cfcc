"""The gateway's 422s for the contract's field rules, without a broker (fake publisher of test_app.py).

Control characters, official code shapes and raw NIKs are refused with the field named, and
nothing is published; test_gateway.py checks the same answers against the real broker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from adapters.gateway import ApiKeyStore, GatewayConfig, create_app, hash_api_key
from schemas.privacy import RAW_NIK_MESSAGE
from tests.adapters.gateway.test_app import BUDGET, KEY, FakePublisher, post

CONTROL = ("holds the control character U+{code:04X} at position {at}; no string field may hold U+0000-U+001F or "
           "U+007F (tab, line feed and carriage return only in free text)")


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def client(publisher: FakePublisher) -> Iterator[TestClient]:
    app = create_app(publisher, ApiKeyStore([(hash_api_key(KEY), "32.01", "bogor")]), GatewayConfig())  # type: ignore[arg-type]
    with TestClient(app) as test_client:
        yield test_client


def test_a_nul_byte_in_a_code_is_422_naming_the_field(client, publisher) -> None:
    response = post(client, "/v1/events/BudgetAllocated", {**BUDGET, "agency_code": "1.02\u0000"})
    assert (response.status_code, response.json()) == (422, {"detail": [
        {"loc": ["body", "agency_code"], "msg": CONTROL.format(code=0, at=4), "type": "control_character"}]})
    assert publisher.published == []


@pytest.mark.parametrize(
    ("field", "value", "at"),
    [("allocation_id", "DPA\u001b1", 3), ("source_system", "sim\u0007da", 3), ("program_code", "\u007f1.02.02", 0)],
)
def test_a_control_character_in_any_field_is_422_naming_it(client, publisher, field, value, at) -> None:
    response = post(client, "/v1/events/BudgetAllocated", {**BUDGET, field: value})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["type"]) == (["body", field], "control_character")
    assert problem["msg"] == CONTROL.format(code=ord(value[at]), at=at)
    assert publisher.published == []


def test_codes_of_another_shape_are_422_naming_each(client, publisher) -> None:
    response = post(client, "/v1/events/BudgetAllocated",
                    {**BUDGET, "agency_code": "1.2", "program_code": "1.02", "activity_code": "1.02.02"})
    assert response.status_code == 422
    assert {tuple(p["loc"]): p["type"] for p in response.json()["detail"]} == {
        ("body", "agency_code"): "agency_code", ("body", "program_code"): "program_code",
        ("body", "activity_code"): "activity_code",
    }
    assert publisher.published == []


@pytest.mark.parametrize("value", ["NIK3201014501900001", "NIP 199001012015031001"])
def test_a_raw_nik_or_nip_outside_the_nik_field_is_422(client, publisher, value) -> None:
    response = post(client, "/v1/events/BudgetAllocated", {**BUDGET, "allocation_id": value})
    assert (response.status_code, response.json()) == (422, {"detail": [
        {"loc": ["body", "allocation_id"], "msg": RAW_NIK_MESSAGE, "type": "raw_nik"}]})
    assert value not in response.text and publisher.published == []
