"""The one retry policy: full-jitter bounds, reset, bounded calls, validation."""

from __future__ import annotations

import random

import pytest

from bus.errors import EgovBusError
from bus.retry import RetryPolicy, RetryPolicyError


def test_each_delay_is_within_the_full_jitter_bound_and_capped() -> None:
    random.seed(7)
    policy = RetryPolicy(initial_s=0.5, cap_s=4.0)
    for attempt in range(1, 12):
        high = min(4.0, 0.5 * 2 ** (attempt - 1))
        draws = [policy.delay(attempt) for _ in range(200)]
        assert all(0.0 <= d <= high for d in draws)
        # Full jitter spreads the draws over the whole range (not a fixed step).
        assert max(draws) - min(draws) > high / 2


def test_publishers_recovering_together_do_not_retry_in_lockstep() -> None:
    random.seed(11)
    policy = RetryPolicy(initial_s=1.0, cap_s=30.0)
    first_retries = [policy.backoff().next_delay() for _ in range(552)]
    # Spread evenly over [0, 1 s]: every tenth of a second gets 5-15 % of the 552 regions.
    bins = [0] * 10
    for delay in first_retries:
        bins[min(int(delay * 10), 9)] += 1
    assert all(27 <= n <= 83 for n in bins), bins


def test_backoff_grows_then_resets() -> None:
    random.seed(3)
    policy = RetryPolicy(initial_s=1.0, cap_s=64.0, floor_s=1.0)
    backoff = policy.backoff()
    assert [backoff.next_delay() <= bound for bound in (1, 2, 4, 8)] == [True] * 4
    assert backoff.failures == 4
    backoff.reset()
    assert backoff.failures == 0
    assert 1.0 <= backoff.next_delay() <= 1.0


def test_call_retries_until_success_and_reraises_when_it_gives_up() -> None:
    slept: list[float] = []
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("broker away")
        return "ok"

    assert RetryPolicy(initial_s=0.1, cap_s=1.0).call(flaky, ConnectionError, sleep=slept.append) == "ok"
    assert len(slept) == 2 and all(0 <= s <= 0.2 for s in slept)

    def always() -> None:
        raise ConnectionError("still away")

    with pytest.raises(ConnectionError, match="still away"):
        RetryPolicy(initial_s=0.1, cap_s=1.0, max_attempts=4).call(always, ConnectionError, sleep=slept.append)


def test_an_error_not_listed_is_not_retried() -> None:
    calls = {"n": 0}

    def broken() -> None:
        calls["n"] += 1
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        RetryPolicy(initial_s=0.1).call(broken, ConnectionError, sleep=lambda s: None)
    assert calls["n"] == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_s": 0}, {"initial_s": 2, "cap_s": 1}, {"floor_s": -1}, {"max_attempts": 0}, {"deadline_s": 0}],
)
def test_a_policy_that_cannot_work_is_refused(kwargs: dict) -> None:
    with pytest.raises(RetryPolicyError) as info:
        RetryPolicy(**kwargs)
    assert isinstance(info.value, EgovBusError)


class _FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_polls_with_the_policy_delays_until_the_condition_holds() -> None:
    random.seed(13)
    clock = _FakeClock()
    answers = iter([False, False, False, True])
    policy = RetryPolicy(initial_s=0.1, cap_s=0.4, floor_s=0.01)
    assert policy.wait_until(lambda: next(answers), 10.0, sleep=clock.sleep, clock=lambda: clock.now) is True
    assert len(clock.sleeps) == 3
    assert all(0.01 <= s <= bound for s, bound in zip(clock.sleeps, (0.1, 0.2, 0.4)))


def test_wait_until_gives_up_at_the_deadline_without_sleeping_past_it() -> None:
    clock = _FakeClock()
    polls = {"n": 0}

    def never() -> bool:
        polls["n"] += 1
        return False

    policy = RetryPolicy(initial_s=1.0, cap_s=1.0, floor_s=1.0)
    assert policy.wait_until(never, 2.5, sleep=clock.sleep, clock=lambda: clock.now) is False
    assert clock.sleeps == [1.0, 1.0, 0.5]
    assert polls["n"] == 4  # the last poll at the deadline itself
