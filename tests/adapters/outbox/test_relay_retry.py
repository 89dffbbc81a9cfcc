"""The relay's retry loop (unit): failed batches wait the retry policy's delays, a success starts them over."""

from __future__ import annotations

import random

import pytest

from adapters.outbox import OutboxRelay
from bus.errors import EgovBusError
from bus.retry import RetryPolicy


class _UpperBound(RetryPolicy):
    """The policy with every draw at the top of its full-jitter range, so the delays are exact."""

    def delay(self, attempt: int) -> float:
        return min(self.cap_s, self.initial_s * 2 ** (max(attempt, 1) - 1))


class _NoSpoolPublisher:
    spool = None


class _RecordingStop:
    """A stop event whose waits are recorded instead of slept."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return False

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return False


class _ScriptedRelay(OutboxRelay):
    """A relay whose batches follow a script: an int is the rows handled, an exception is raised."""

    def __init__(self, script: list[int | Exception], **kwargs) -> None:
        super().__init__(source=None, publisher=_NoSpoolPublisher(), **kwargs)  # type: ignore[arg-type]
        self.script = list(script)

    def relay_once(self) -> int:
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def test_failed_batches_back_off_up_to_the_cap_and_a_success_starts_over() -> None:
    down = EgovBusError("broker away")
    relay = _ScriptedRelay([down, down, down, down, 5, down, 0], poll_interval_s=1.0,
                           retry=_UpperBound(initial_s=1.0, cap_s=4.0))
    stop = _RecordingStop()
    stats = relay.run(stop, exit_when_empty=True)
    assert stop.waits == [1.0, 2.0, 4.0, 4.0, 1.0]
    assert stats.errors == ["broker away"] * 5
    assert relay.script == []


def test_the_default_policy_has_full_jitter_between_the_poll_interval_and_max_backoff() -> None:
    relay = _ScriptedRelay([], poll_interval_s=0.5, max_backoff_s=8.0)
    assert (relay.retry.initial_s, relay.retry.cap_s) == (0.5, 8.0)
    random.seed(5)
    relay.script = [EgovBusError("down")] * 6 + [0]
    stop = _RecordingStop()
    relay.run(stop, exit_when_empty=True)
    bounds = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert len(stop.waits) == 6
    assert all(0.0 <= wait <= bound for wait, bound in zip(stop.waits, bounds))
    # Jittered, not the old fixed doubling.
    assert stop.waits != bounds


def test_an_error_outside_the_hierarchy_is_not_retried() -> None:
    relay = _ScriptedRelay([KeyError("a bug")], poll_interval_s=1.0)
    stop = _RecordingStop()
    with pytest.raises(KeyError):
        relay.run(stop)
    assert stop.waits == []
