"""Fair ingest between regions: a token bucket per API key.

Each key has a bucket of ``burst`` tokens that refills at ``rate`` tokens per
second; an event costs one token, a batch of N events costs N, taken all at
once or not at all. A request that finds too few tokens is refused (429) with
the seconds until enough have refilled, so one region posting as fast as it
can gets its own rate and no more, and every other region keeps its latency.

The limiter lives in one gateway process: with ``--workers N`` or several pods
each process has its own buckets, so the limit an operator sets is a
per-process share of what a key may send.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Events per second a key may send when neither its keys-file entry nor the
#: settings say otherwise (the same number as ``EGOV_GATEWAY_RATE_LIMIT``'s default).
DEFAULT_RATE = 200.0
#: Tokens a full bucket holds (``EGOV_GATEWAY_RATE_BURST``): the default largest
#: batch (``--max-batch-events``), so any batch the gateway accepts can pass.
DEFAULT_BURST = 1000

#: The wait reported for a request that can never pass (more events than the burst).
NEVER = math.inf


class TokenBucket:
    """One key's bucket: ``burst`` tokens at most, refilled at ``rate`` per second.

    Not locked: :class:`RateLimiter` calls it under its own lock. ``now`` is a
    monotonic time in seconds, passed in so the arithmetic is testable without a clock.
    """

    __slots__ = ("rate", "burst", "_tokens", "_stamp")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, got rate={rate}, burst={burst}")
        self.rate = float(rate)
        self.burst = int(burst)
        # A key starts with a full bucket: its first burst is not penalized for the gateway's restart.
        self._tokens = float(burst)
        self._stamp = now

    def tokens(self, now: float) -> float:
        """Tokens available at ``now`` (refilled since the last call, capped at the burst)."""
        if now > self._stamp:
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
        return self._tokens

    def wait(self, n: int, now: float) -> float:
        """Seconds from ``now`` until ``n`` tokens are available: 0 if they are, :data:`NEVER` past the burst."""
        if n > self.burst:
            return NEVER
        missing = n - self.tokens(now)
        return missing / self.rate if missing > 0 else 0.0

    def take(self, n: int, now: float) -> float:
        """Take ``n`` tokens and return 0, or take none and return :meth:`wait` (all or nothing)."""
        wait = self.wait(n, now)
        if wait == 0.0:
            self._tokens -= n
        return wait


@dataclass(frozen=True)
class Limit:
    """The rate (events/s; 0: unlimited) and burst (tokens) of one key."""

    rate: float
    burst: int

    @property
    def unlimited(self) -> bool:
        """``rate == 0`` turns the limit off (a trusted bulk loader, a benchmark)."""
        return self.rate == 0


class RateLimiter:
    """Buckets by key id, created on a key's first request with its own limit or the default.

    Thread-safe: one lock, held only for the arithmetic (never across I/O), so
    the event loop and worker threads may both call it. There is one bucket per
    configured key at most, so memory is bounded by the keys file.
    """

    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.default = Limit(float(rate), int(burst))
        if self.default.rate < 0 or self.default.burst < 1:
            raise ValueError(f"rate must be >= 0 and burst >= 1, got rate={rate}, burst={burst}")
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}

    @classmethod
    def from_settings(cls, settings: object) -> "RateLimiter":
        """The default limit from ``gateway_rate_limit`` and ``gateway_rate_burst``."""
        return cls(getattr(settings, "gateway_rate_limit", DEFAULT_RATE),
                   getattr(settings, "gateway_rate_burst", DEFAULT_BURST))

    def limit(self, rate: float | None = None, burst: int | None = None) -> Limit:
        """A key's limit: its own ``rate``/``burst`` where set, the default for the rest."""
        return Limit(self.default.rate if rate is None else float(rate),
                     self.default.burst if burst is None else int(burst))

    def acquire(self, key_id: str, events: int, limit: Limit | None = None) -> float:
        """Take ``events`` tokens from ``key_id``'s bucket: 0 when taken, else the seconds to wait
        (:data:`NEVER` when ``events`` is more than the burst). ``events=0`` takes nothing and
        waits for one token: the cheap check before a batch's body is read."""
        limit = limit or self.default
        if limit.unlimited:
            return 0.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key_id)
            # A key's limit comes from the keys file and does not change while the gateway runs;
            # a different one (a reused id in tests) starts a fresh bucket rather than a mixed one.
            if bucket is None or (bucket.rate, bucket.burst) != (limit.rate, limit.burst):
                bucket = self._buckets[key_id] = TokenBucket(limit.rate, limit.burst, now)
            if events == 0:
                return bucket.wait(1, now)
            return bucket.take(events, now)


def retry_after(wait_s: float) -> int:
    """The ``Retry-After`` header value for a wait: whole seconds, rounded up, at least 1."""
    # The small tolerance keeps float noise (2.0000000001) from adding a second.
    return max(1, math.ceil(wait_s - 1e-9))
