"""Schemathesis drives the gateway from its own OpenAPI document: no input gives a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 12


def test_no_request_makes_the_gateway_fail(gateway) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", gateway.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40  # one per event type, plus batch, unknown type and operations endpoints
    seen: dict[int, int] = {}

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def check(case) -> None:
                response = case.call(headers={"X-API-Key": gateway.key})
                seen[response.status_code] = seen.get(response.status_code, 0) + 1
                assert response.status_code < 500, (case.method, case.path, case.body, response.text)

            try:
                check()
            except Unsatisfiable:
                # Nothing to make invalid (e.g. GET /healthz has no parameters): only positive cases.
                assert mode is GenerationMode.NEGATIVE, operation.label
    # The run reached the interesting answers, not just one kind of refusal.
    print("status codes seen:", dict(sorted(seen.items())))
    assert {202, 422} <= set(seen), seen
