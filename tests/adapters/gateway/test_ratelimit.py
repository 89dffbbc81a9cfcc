"""The per-key token bucket: its arithmetic with a fake clock, then the routes' 429/413 without a broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from adapters.gateway import ApiKeyStore, GatewayConfig, create_app, hash_api_key
from adapters.gateway.ratelimit import DEFAULT_BURST, DEFAULT_RATE, NEVER, Limit, RateLimiter, TokenBucket, retry_after
from bus.settings import load_settings
from devtools.devstack import process
from tests.adapters.gateway.test_app import BUDGET, COMPLAINT, FakePublisher
from tests.fixtures.adapters import EGOV_BUS, cli_env

FLOOD, CALM = "egk_" + "f" * 40, "egk_" + "c" * 40


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- the bucket ---------------------------------------------------------------------


def test_a_bucket_starts_full_and_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket(rate=10, burst=20, now=0.0)
    assert bucket.take(20, 0.0) == 0.0
    assert bucket.tokens(0.0) == 0.0
    assert bucket.tokens(0.5) == pytest.approx(5.0)
    assert bucket.tokens(100.0) == 20.0  # capped: idle time does not bank more than the burst


def test_a_request_takes_all_its_tokens_or_none() -> None:
    bucket = TokenBucket(rate=2, burst=10, now=0.0)
    assert bucket.take(5, 0.0) == 0.0
    assert bucket.take(6, 0.0) == pytest.approx(0.5)  # one token short at 2/s
    assert bucket.tokens(0.0) == 5.0  # the refused request took nothing
    assert bucket.take(5, 0.0) == 0.0


def test_more_than_the_burst_can_never_pass() -> None:
    bucket = TokenBucket(rate=1000, burst=10, now=0.0)
    assert bucket.wait(11, 0.0) == NEVER
    assert bucket.take(11, 1e6) == NEVER
    assert bucket.tokens(1e6) == 10.0


def test_a_bucket_refuses_a_meaningless_limit() -> None:
    with pytest.raises(ValueError, match="rate > 0 and burst >= 1"):
        TokenBucket(rate=0, burst=1, now=0.0)
    with pytest.raises(ValueError, match="rate must be >= 0 and burst >= 1"):
        RateLimiter(rate=1, burst=0)


@pytest.mark.parametrize(("wait", "header"), [(0.001, 1), (0.5, 1), (1.0, 1), (1.0000000001, 1), (1.2, 2),
                                              (2.5, 3), (59.99, 60)])
def test_retry_after_is_whole_seconds_rounded_up_at_least_one(wait: float, header: int) -> None:
    assert retry_after(wait) == header


def test_retry_after_is_the_time_until_enough_tokens() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=4, burst=8, clock=clock)
    assert limiter.acquire("k", 8) == 0.0
    assert limiter.acquire("k", 1) == pytest.approx(0.25)
    assert limiter.acquire("k", 8) == pytest.approx(2.0)
    assert retry_after(limiter.acquire("k", 8)) == 2
    clock.advance(1.0)  # 4 tokens back
    assert limiter.acquire("k", 6) == pytest.approx(0.5)
    clock.advance(0.5)
    assert limiter.acquire("k", 6) == 0.0


def test_two_keys_have_independent_buckets() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=3, clock=clock)
    assert [limiter.acquire("flood", 1) for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(1.0)]
    assert [limiter.acquire("calm", 1) for _ in range(3)] == [0.0, 0.0, 0.0]


def test_a_keys_own_limit_overrides_the_default_and_rate_zero_is_unlimited() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=2, clock=clock)
    own = limiter.limit(rate=None, burst=5)
    assert own == Limit(1.0, 5)
    assert [limiter.acquire("big", 1, own) for _ in range(6)] == [0.0] * 5 + [pytest.approx(1.0)]
    free = limiter.limit(rate=0)
    assert free.unlimited
    assert all(limiter.acquire("free", 10_000, free) == 0.0 for _ in range(100))


def test_zero_events_only_checks_that_a_token_is_left() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2, burst=1, clock=clock)
    assert limiter.acquire("k", 0) == 0.0
    assert limiter.acquire("k", 1) == 0.0  # the check took nothing
    assert limiter.acquire("k", 0) == pytest.approx(0.5)


def test_concurrent_takers_never_get_more_than_the_tokens() -> None:
    # The clock stands still: exactly `burst` single-token takes can succeed, whatever the interleaving.
    limiter = RateLimiter(rate=1, burst=5000, clock=FakeClock())
    granted = [0] * 8

    def take(slot: int) -> None:
        granted[slot] = sum(limiter.acquire("k", 1) == 0.0 for _ in range(1000))

    threads = [threading.Thread(target=take, args=(slot,)) for slot in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 5000


def test_the_default_limit_comes_from_the_settings() -> None:
    settings = load_settings(env_file=None)
    assert (settings.gateway_rate_limit, settings.gateway_rate_burst) == (DEFAULT_RATE, DEFAULT_BURST)
    assert RateLimiter.from_settings(settings).default == Limit(200.0, 1000)
    custom = load_settings(env_file=None, gateway_rate_limit=5, gateway_rate_burst=7)
    assert RateLimiter.from_settings(custom).default == Limit(5.0, 7)


# -- the routes ---------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def client(publisher: FakePublisher, clock: FakeClock) -> Iterator[TestClient]:
    # The flooding key: 3 events at once, 0.5 per second; the calm one has the default limit.
    keys = ApiKeyStore()
    keys.add(hash_api_key(FLOOD), "32.01", "bogor", rate=0.5, burst=3)
    keys.add(hash_api_key(CALM), "33", "jateng")
    app = create_app(publisher, keys, GatewayConfig(max_batch_events=10),  # type: ignore[arg-type]
                     limiter=RateLimiter(rate=100, burst=100, clock=clock))
    with TestClient(app) as test_client:
        yield test_client


def post(client: TestClient, path: str, body: Any, key: str, **kwargs: Any):
    return client.post(path, headers={"X-API-Key": key}, **({"json": body} if body is not None else kwargs))


def complaints(n: int) -> dict[str, Any]:
    return {"events": [{**COMPLAINT, "complaint_id": f"C-{i}"} for i in range(n)]}


def rate_limited(theme: str) -> float:
    return REGISTRY.get_sample_value("egov_gateway_events_rejected_total",
                                     {"theme": theme, "reason": "rate_limited"}) or 0.0


def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_do_not(client, publisher, clock) -> None:
    before = rate_limited("budgeting")
    assert [post(client, "/v1/events/BudgetAllocated", BUDGET, FLOOD).status_code for _ in range(3)] == [202] * 3
    refused = post(client, "/v1/events/BudgetAllocated", BUDGET, FLOOD)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"  # one token at 0.5/s
    assert refused.json() == {"detail": "rate limit of this key exceeded (0.5 events/s, burst 3); retry after 2 s"}
    assert [post(client, "/v1/events/BudgetAllocated", BUDGET, CALM).status_code for _ in range(5)] == [202] * 5
    assert len(publisher.published) == 8
    assert rate_limited("budgeting") - before == 1
    clock.advance(2.0)
    assert post(client, "/v1/events/BudgetAllocated", BUDGET, FLOOD).status_code == 202


def test_the_limit_is_checked_before_the_body_is_read(client, publisher) -> None:
    for _ in range(3):
        post(client, "/v1/events/BudgetAllocated", BUDGET, FLOOD)
    # Not JSON at all: a key out of tokens is refused without its body being parsed.
    response = post(client, "/v1/events/BudgetAllocated", None, FLOOD, content=b"{not json")
    assert response.status_code == 429
    batch = post(client, "/v1/batch", None, FLOOD, content=b"{not json")
    assert (batch.status_code, batch.headers["retry-after"]) == (429, "2")
    assert len(publisher.published) == 3


def test_a_batch_takes_one_token_per_event_all_or_nothing(client, publisher, clock) -> None:
    before = rate_limited("unknown")
    two = complaints(2)
    assert post(client, "/v1/batch", two, FLOOD).status_code == 202
    refused = post(client, "/v1/batch", two, FLOOD)  # one token left, two needed
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "2")
    assert rate_limited("unknown") - before == 1
    assert post(client, "/v1/events/ComplaintReceived", {**COMPLAINT, "complaint_id": "C-9"}, FLOOD).status_code == 202  # the token was kept
    clock.advance(4.0)  # two tokens back
    assert post(client, "/v1/batch", two, FLOOD).status_code == 202
    assert [len(events) for events, _ in publisher.published] == [2, 1, 2]


def test_a_batch_larger_than_the_keys_burst_is_413(client, publisher) -> None:
    response = post(client, "/v1/batch", complaints(4), FLOOD)
    assert (response.status_code, response.json()) == (
        413, {"detail": "4 events in one request is more than this key's burst of 3; send smaller batches"})
    assert "retry-after" not in response.headers
    assert publisher.published == []
    assert post(client, "/v1/batch", complaints(3), FLOOD).status_code == 202  # no token was taken


def test_an_unknown_key_is_401_not_429(client) -> None:
    for _ in range(5):
        assert post(client, "/v1/events/BudgetAllocated", BUDGET, "egk_unknown").status_code == 401


# -- the gateway as a real process, on the real broker --------------------------------


def _start_gateway(settings: Any, tmp_path: Path, keys_yaml: str) -> tuple[Any, str]:
    keys_file = tmp_path / "keys.yaml"
    keys_file.write_text(keys_yaml)
    port = process.free_port()
    log = tmp_path / "gateway.log"
    record = process.start("gateway", [EGOV_BUS, "gateway", "--port", str(port), "--log-level", "warning"], log,
                           env=cli_env(settings, EGOV_GATEWAY_API_KEYS_FILE=str(keys_file)))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return record, url
        except httpx.HTTPError:
            pass
        if not process.is_running(record) or time.monotonic() > deadline:
            process.stop(record, timeout=10)
            pytest.fail(f"the gateway did not start:\n{process.log_tail(log)}")
        time.sleep(0.2)  # polling a condition with a deadline


def _rejected_samples(url: str) -> dict[tuple[str, str], float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {(s.labels["theme"], s.labels["reason"]): s.value
            for family in text_string_to_metric_families(text) if family.name == "egov_gateway_events_rejected"
            for s in family.samples if s.name.endswith("_total")}


@pytest.mark.integration
def test_a_flooding_key_gets_429s_and_the_other_key_none(adapter_settings, theme_topics, tmp_path) -> None:
    rate, burst = 20, 20
    record, url = _start_gateway(adapter_settings, tmp_path, (
        f'keys:\n  - {{region_code: "32.01", name: flood, hash: "{hash_api_key(FLOOD)}", rate: {rate}, '
        f'burst: {burst}}}\n  - {{region_code: "33", name: calm, hash: "{hash_api_key(CALM)}"}}\n'))
    path = f"{url}/v1/events/BudgetAllocated"
    body = {k: v for k, v in BUDGET.items() if k != "event_id"}
    flood: list[tuple[int, str | None]] = []
    calm: list[int] = []
    done = threading.Event()

    def flooder() -> None:
        with httpx.Client(headers={"X-API-Key": FLOOD}, timeout=30) as http:
            while not done.is_set():
                response = http.post(path, json=body)
                flood.append((response.status_code, response.headers.get("retry-after")))

    try:
        threads = [threading.Thread(target=flooder) for _ in range(4)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        with httpx.Client(headers={"X-API-Key": CALM}, timeout=30) as http:
            for n in range(30):  # 10 requests per second for 3 s, paced by the clock (not synchronisation)
                time.sleep(max(0.0, started + n / 10 - time.monotonic()))
                calm.append(http.post(path, json=body).status_code)
        done.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started
        samples = _rejected_samples(url)
    finally:
        done.set()
        assert process.stop(record, timeout=20)

    assert calm == [202] * 30
    statuses = [status for status, _ in flood]
    limited = [retry for status, retry in flood if status == 429]
    assert set(statuses) == {202, 429}, statuses
    assert limited and set(limited) == {"1"}  # a token every 50 ms: one second, rounded up
    # The burst, then the rate: never more than the bucket allows over the run.
    assert burst <= statuses.count(202) <= burst + rate * elapsed + 1
    assert samples.get(("budgeting", "rate_limited")) == len(limited)


def test_the_gateway_built_from_settings_limits_by_the_settings_default() -> None:
    from adapters.gateway.server import build_gateway
    from tests.adapters.gateway.test_app import BUDGET, KEY, FakePublisher, post

    class WarmPublisher(FakePublisher):
        def warm(self, _types: Any) -> None:
            pass

        def close(self, **_kwargs: Any) -> None:
            pass

    settings = load_settings(env_file=None, gateway_rate_limit=0.001, gateway_rate_burst=2,
                             pseudonym_key="test-only-pseudonym-key-0123456789")
    keys = ApiKeyStore([(hash_api_key(KEY), "32.01", "bogor")])
    app, _publisher = build_gateway(settings, keys=keys, publisher=WarmPublisher())  # type: ignore[arg-type]
    with TestClient(app) as client:
        codes = [post(client, "/v1/events/BudgetAllocated", BUDGET).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
