"""The one retry policy of egov-bus: exponential backoff with full jitter, capped.

552 regional publishers that lost the cluster in the same outage must not
retry it in lockstep when it comes back. Every retry loop of the bus (the SDK's
broker probe, the outbox relay, topic provisioning, the dev stack's start-up
waits) takes its delays from a :class:`RetryPolicy`, built on tenacity's
``wait_random_exponential`` ("full jitter": each delay is uniform in
``[0, min(cap, initial * 2**attempt)]``).

Two shapes of loop use it:

- a blocking call retried until it succeeds or gives up: :meth:`RetryPolicy.call`
  (a tenacity ``Retrying``, optionally bounded by attempts or a deadline);
- a loop that schedules its next try itself (a pump thread, a poll loop):
  :meth:`RetryPolicy.backoff` returns a :class:`Backoff`, whose
  :meth:`Backoff.next_delay` grows with each failure and
  :meth:`Backoff.reset` starts again after a success.

A third shape is not a retry but a condition wait with a deadline (a topic to
become visible, a started broker to answer): :meth:`RetryPolicy.wait_until`
polls with the policy's delays, so such waits need no interval of their own.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from bus.errors import EgovBusError

T = TypeVar("T")


class RetryPolicyError(EgovBusError):
    """A retry policy was configured with values that cannot work."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter.

    ``initial_s`` is the upper bound of the first delay, doubled per failure up
    to ``cap_s``. ``max_attempts`` / ``deadline_s`` bound :meth:`call` (``None``:
    unbounded). ``floor_s`` keeps a delay from being so short that a tight loop
    spins (full jitter may draw 0).
    """

    initial_s: float = 0.5
    cap_s: float = 30.0
    max_attempts: int | None = None
    deadline_s: float | None = None
    floor_s: float = 0.0

    def __post_init__(self) -> None:
        if self.initial_s <= 0:
            raise RetryPolicyError(f"initial_s must be > 0, got {self.initial_s}")
        if self.cap_s < self.initial_s:
            raise RetryPolicyError(f"cap_s ({self.cap_s}) must be >= initial_s ({self.initial_s})")
        if self.floor_s < 0 or self.floor_s > self.cap_s:
            raise RetryPolicyError(f"floor_s must be in [0, cap_s], got {self.floor_s}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise RetryPolicyError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.deadline_s is not None and self.deadline_s <= 0:
            raise RetryPolicyError(f"deadline_s must be > 0, got {self.deadline_s}")

    def wait(self) -> tenacity.wait.wait_base:
        """The tenacity wait strategy of this policy."""
        return tenacity.wait_random_exponential(multiplier=self.initial_s, max=self.cap_s, min=self.floor_s)

    def delay(self, attempt: int) -> float:
        """The delay after failure number ``attempt`` (1-based), drawn with full jitter."""
        high = min(self.cap_s, self.initial_s * 2 ** (max(attempt, 1) - 1))
        return random.uniform(min(self.floor_s, high), high)

    def backoff(self) -> Backoff:
        """A fresh stateful backoff for a loop that schedules its own retries."""
        return Backoff(self)

    def retrying(
        self,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        *,
        sleep: Callable[[float], None] | None = None,
        before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
    ) -> tenacity.Retrying:
        """A tenacity ``Retrying`` that retries ``retry_on`` under this policy and re-raises the last error."""
        stops = []
        if self.max_attempts is not None:
            stops.append(tenacity.stop_after_attempt(self.max_attempts))
        if self.deadline_s is not None:
            stops.append(tenacity.stop_after_delay(self.deadline_s))
        kwargs = {}
        if sleep is not None:
            kwargs["sleep"] = sleep
        return tenacity.Retrying(
            wait=self.wait(),
            stop=tenacity.stop_any(*stops) if stops else tenacity.stop_never,
            retry=tenacity.retry_if_exception_type(retry_on),
            reraise=True,
            before_sleep=before_sleep,
            **kwargs,
        )

    def call(
        self,
        fn: Callable[[], T],
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        *,
        sleep: Callable[[float], None] | None = None,
        before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
    ) -> T:
        """Call ``fn`` until it returns, retrying ``retry_on``; the last error propagates when the policy gives up."""
        return self.retrying(retry_on, sleep=sleep, before_sleep=before_sleep)(fn)

    def wait_until(
        self,
        condition: Callable[[], bool],
        timeout_s: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> bool:
        """Poll ``condition`` until it is true or ``timeout_s`` has passed; whether it became true.

        Between polls it sleeps this policy's delays, never past the deadline;
        it polls once more at the deadline. An exception of ``condition``
        propagates (a condition that can never come true should say so).
        ``max_attempts`` and ``deadline_s`` do not apply: ``timeout_s`` bounds it.
        """
        deadline = clock() + timeout_s
        backoff = self.backoff()
        while not condition():
            left = deadline - clock()
            if left <= 0:
                return False
            sleep(min(backoff.next_delay(), left))
        return True


class Backoff:
    """The delay state of one retry loop: grows per failure, resets on success (not thread-safe)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.failures = 0

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before the next try."""
        self.failures += 1
        return self.policy.delay(self.failures)

    def reset(self) -> None:
        """A try succeeded: the next failure starts from the initial delay again."""
        self.failures = 0
