"""The ASGI pre-filter: a known key out of tokens is answered 429 without the app; all else passes on."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from adapters.gateway import ApiKeyStore, GatewayConfig, hash_api_key
from adapters.gateway.ingest import Ingest
from adapters.gateway.prefilter import RateLimitPrefilter
from adapters.gateway.ratelimit import RateLimiter
from schemas import EVENT_TYPES
from tests.adapters.gateway.test_app import FakePublisher
from tests.adapters.gateway.test_ratelimit import CALM, FLOOD, FakeClock, rate_limited


@pytest.fixture
def prefilter() -> tuple[RateLimitPrefilter, list[str], FakeClock]:
    clock = FakeClock()
    keys = ApiKeyStore()
    keys.add(hash_api_key(FLOOD), "32.01", "bogor", rate=1, burst=1)
    keys.add(hash_api_key(CALM), "33", "jateng")
    ingest = Ingest(FakePublisher(), keys, GatewayConfig(), {et.name: et for et in EVENT_TYPES.values()},  # type: ignore[arg-type]
                    limiter=RateLimiter(clock=clock))
    passed: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        passed.append(scope["path"])

    return RateLimitPrefilter(app, ingest), passed, clock


def call(middleware: RateLimitPrefilter, path: str, headers: dict[str, str], method: str = "POST") -> list[dict]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:  # the pre-filter never reads the body
        raise AssertionError("body read")

    scope = {"type": "http", "method": method, "path": path,
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(middleware(scope, receive, send))
    return sent


def test_a_key_out_of_tokens_is_answered_without_the_app(prefilter) -> None:
    middleware, passed, clock = prefilter
    before = rate_limited("budgeting")
    assert call(middleware, "/v1/events/BudgetAllocated", {"X-API-Key": FLOOD}) == []  # a token left: on to the app
    middleware.ingest.throttle(middleware.ingest.keys.authenticate(FLOOD), 1, "budgeting")  # the route takes it
    start, body = call(middleware, "/v1/events/BudgetAllocated", {"Authorization": f"Bearer {FLOOD}"})
    assert passed == ["/v1/events/BudgetAllocated"]
    assert (start["status"], dict(start["headers"])) == (429, {b"content-type": b"application/json",
                                                                b"retry-after": b"1"})
    assert orjson.loads(body["body"]) == {
        "detail": "rate limit of this key exceeded (1 events/s, burst 1); retry after 1 s"}
    assert rate_limited("budgeting") - before == 1
    assert call(middleware, "/v1/batch", {"X-API-Key": FLOOD})[0]["status"] == 429
    assert rate_limited("unknown") >= 1
    clock.advance(1.0)
    assert call(middleware, "/v1/batch", {"X-API-Key": FLOOD}) == []


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("POST", "/v1/events/BudgetAllocated", {}),  # no key: the route's 401
    ("POST", "/v1/events/BudgetAllocated", {"X-API-Key": "egk_unknown"}),
    ("POST", "/v1/events/BudgetAllocated", {"X-API-Key": CALM}),
    ("GET", "/metrics", {"X-API-Key": FLOOD}),
])
def test_everything_else_passes_on_untouched(prefilter, method, path, headers) -> None:
    middleware, passed, _clock = prefilter
    middleware.ingest.throttle(middleware.ingest.keys.authenticate(FLOOD), 1, "budgeting")  # FLOOD is empty
    assert call(middleware, path, headers, method) == []
    assert passed == [path]
