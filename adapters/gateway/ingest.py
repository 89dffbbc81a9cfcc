"""What every ingest route does: authenticate, read the body, build the event, publish, or reject.

:class:`Ingest` holds the gateway's publisher, keys and limits; the routers in
:mod:`adapters.gateway.routers` call it and answer with what it returns or
the :class:`~adapters.gateway.exceptions.Rejected` it raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from adapters.gateway.auth import ApiKey, ApiKeyStore
from adapters.gateway.exceptions import Rejected
from adapters.gateway.ratelimit import NEVER, RateLimiter, retry_after
from adapters.metrics import GATEWAY_ACCEPTED
from adapters.sdk import FAILED, Publisher, PublisherError, PublishResult, Waiter
from adapters.spool import SpoolError, SpoolFullError
from bus.errors import EgovBusError
from schemas import EventType, SchemaValidationError
from schemas.cloudevents import HEADER_TRACEPARENT, is_valid_traceparent
from schemas.exceptions import format_loc
from schemas.privacy import NIK_FIELD, RAW_NIK_MESSAGE, RAW_NIK_RULE, find_raw_nik

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_BATCH_EVENTS = 1000
DEFAULT_MAX_IN_FLIGHT = 10_000
ENVELOPE_INPUTS = ("region_code", "source_system", "occurred_at", "event_id")
UNKNOWN_THEME = "unknown"


@dataclass
class GatewayConfig:
    """Limits of the gateway: body size, events per batch, how long to wait for the broker's ack, and
    how many events may wait for it at once (``None``: ``EGOV_GATEWAY_ACK_TIMEOUT_S`` and
    ``EGOV_GATEWAY_MAX_IN_FLIGHT`` where the gateway is built from settings, else the publisher's
    ack timeout and 10,000)."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_batch_events: int = DEFAULT_MAX_BATCH_EVENTS
    ack_timeout_s: float | None = None
    max_in_flight: int | None = None


def problem(loc: Sequence[Any], msg: str, rule: str) -> dict[str, Any]:
    """One entry of a 422 ``detail``: field path, message, rule."""
    return {"loc": list(loc), "msg": msg, "type": rule}


class Ingest:
    """The request handling shared by the single-event and batch routes."""

    def __init__(self, publisher: Publisher, keys: ApiKeyStore, config: GatewayConfig,
                 types: Mapping[str, EventType], *, limiter: RateLimiter | None = None) -> None:
        self.publisher = publisher
        self.keys = keys
        self.config = config
        #: The event types served, by name.
        self.types = types
        #: The per-key token buckets (the default limit where a key sets none).
        self.limiter = limiter or RateLimiter()
        #: Events sent and not yet resolved (acked, spooled or failed); changed on the event loop only.
        self.in_flight = 0
        self.max_in_flight = config.max_in_flight or DEFAULT_MAX_IN_FLIGHT

    def authenticate(self, request: Request, theme: str, presented: str | None, *, events: int = 1) -> ApiKey:
        """The key's owner; ``X-API-Key`` or ``Authorization: Bearer``, else 401.

        Then the key's rate limit, before the body is read (a flooding key costs
        a dict lookup): ``events`` tokens are taken, 429 if too few. The batch
        route passes 0 (only checks a token is left) and takes its count with
        :meth:`throttle` once it knows it.
        """
        if not presented:
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                presented = auth[7:].strip()
        owner = self.keys.authenticate(presented)
        if owner is None:
            raise Rejected(401, "unauthorized", theme, "missing or unknown API key", {"WWW-Authenticate": "ApiKey"})
        self.throttle(owner, events, theme)
        return owner

    def throttle(self, owner: ApiKey, events: int, theme: str) -> None:
        """Take ``events`` tokens from ``owner``'s bucket, all or none: 429 with ``Retry-After`` when
        short, 413 when ``events`` is more than the key's burst (no wait would let it pass)."""
        limit = self.limiter.limit(owner.rate, owner.burst)
        wait = self.limiter.acquire(owner.key_id, events, limit)
        if wait == 0.0:
            return
        if wait == NEVER:
            raise Rejected(413, "too_large", theme,
                           f"{events} events in one request is more than this key's burst of {limit.burst}; "
                           "send smaller batches")
        seconds = retry_after(wait)
        raise Rejected(429, "rate_limited", theme,
                       f"rate limit of this key exceeded ({limit.rate:g} events/s, burst {limit.burst}); "
                       f"retry after {seconds} s", {"Retry-After": str(seconds)})

    async def read_json(self, request: Request, theme: str) -> Any:
        """The parsed body; 413 past the size limit (declared or streamed), 422 if it is not JSON."""
        config = self.config
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
            raise Rejected(413, "too_large", theme, f"body over {config.max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > config.max_body_bytes:
                raise Rejected(413, "too_large", theme, f"body over {config.max_body_bytes} bytes")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Rejected(422, "invalid", theme, [problem(["body"], f"not valid JSON: {exc}", "json_invalid")]) from None

    def build(self, et: EventType, data: Any, owner: ApiKey, loc: list[Any]) -> Any:
        """The typed event of one flat JSON object, in the key's region; 403 or 422 naming each field."""
        if not isinstance(data, dict):
            raise Rejected(422, "invalid", et.theme, [problem(loc, "must be a JSON object", "object_type")])
        region = data.get("region_code", owner.region_code)
        if region != owner.region_code:
            raise Rejected(403, "forbidden", et.theme,
                           f"the API key belongs to region {owner.region_code}, the event says {region!r}")
        fields = {k: v for k, v in data.items() if k not in ("event_type",)}
        raw_nik = find_raw_nik({k: v for k, v in fields.items() if k != NIK_FIELD})
        if raw_nik is not None:
            raise Rejected(422, "invalid", et.theme, [problem([*loc, *raw_nik], RAW_NIK_MESSAGE, RAW_NIK_RULE)])
        fields["region_code"] = owner.region_code
        try:
            return self.publisher.build(et, fields)
        except SchemaValidationError as exc:
            raise Rejected(422, "invalid", et.theme, [
                problem([*loc, *_flat_loc(e["loc"])], e["msg"], e["rule"]) for e in exc.errors
            ]) from None
        except EgovBusError as exc:
            raise Rejected(422, "invalid", et.theme, [problem(loc, exc.message, type(exc).__name__)]) from None

    def admit(self, theme: str) -> None:
        """503 ``overloaded`` before the body is read when the in-flight bound is already reached.

        Under overload most refused requests end here, not after reading, parsing and building
        their events (which cost the event loop as much as serving them would).
        """
        if self.in_flight >= self.max_in_flight:
            raise self._overloaded(theme)

    def _overloaded(self, theme: str) -> Rejected:
        return Rejected(503, "overloaded", theme,
                        f"{self.in_flight} events are waiting for the broker (limit {self.max_in_flight}); "
                        "retry shortly", {"Retry-After": "1"})

    async def publish(self, events: list[Any], themes: list[str], traceparent: str | None) -> list[PublishResult]:
        """Publish and wait for each event's ack or spooling; 503 if the spool is full, the broker refuses
        or does not answer in time, or too many events are in flight already.

        Each request waits for its own events only: ``submit`` sends them on the event loop (no
        thread, no lock held across the broker's round trip) and the last delivery report completes
        this request's future, so concurrent requests share the producer's batches.
        """
        config, publisher, count = self.config, self.publisher, len(events)
        # Bounded in-flight events: librdkafka's queue never fills (a full one would make submit
        # block the event loop) and memory stays bounded when the broker is slow. One request is
        # always let in, so a batch larger than the bound is served alone rather than never.
        if self.in_flight and self.in_flight + count > self.max_in_flight:
            raise self._overloaded(themes[0])
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Waiter] = loop.create_future()
        slot = _Slot(self, count)

        def finished(waiter: Waiter) -> None:  # on the event loop
            slot.release()
            if not done.done():  # a request that timed out has gone
                done.set_result(waiter)

        def on_done(waiter: Waiter) -> None:  # on the thread that resolved the last event
            try:
                loop.call_soon_threadsafe(finished, waiter)
            except RuntimeError:  # the loop closed (server stopped): nobody waits any more
                pass

        traceparents = [traceparent] * count if traceparent else None
        self.in_flight += count
        try:
            if publisher.mode == "direct":
                publisher.submit(events, traceparents=traceparents, on_done=on_done)
            else:
                # Spooling writes the events to SQLite with an fsync: not on the event loop.
                await run_in_threadpool(publisher.submit, events, traceparents=traceparents, on_done=on_done)
        except SpoolFullError as exc:
            slot.release()
            raise Rejected(503, "unavailable", themes[0], exc.message, {"Retry-After": "60"}) from None
        except (PublisherError, SpoolError) as exc:
            slot.release()
            raise Rejected(503, "unavailable", themes[0], exc.message, {"Retry-After": "5"}) from None
        except BaseException:
            slot.release()
            raise
        timeout = config.ack_timeout_s if config.ack_timeout_s is not None else publisher.ack_timeout_s
        try:
            waiter = await asyncio.wait_for(done, timeout)
        except asyncio.TimeoutError:
            # The events stay in flight (their slots are freed when they resolve); a retry with the
            # same event_id is deduplicated downstream.
            raise Rejected(503, "unavailable", themes[0],
                           f"events neither acknowledged nor spooled within {timeout:g}s", {"Retry-After": "5"}
                           ) from None
        results: list[PublishResult] = list(waiter.results)  # type: ignore[arg-type]
        failed = [r for r in results if r.outcome == FAILED]
        if failed:
            raise Rejected(503, "unavailable", themes[0],
                           f"{len(failed)} event(s) refused by the broker: {failed[0].error}", {"Retry-After": "5"})
        for theme in themes:
            GATEWAY_ACCEPTED.labels(theme).inc()
        return results

    @staticmethod
    def traceparent(request: Request) -> str | None:
        """The caller's W3C ``traceparent`` header to continue, if it is a valid one."""
        value = request.headers.get(HEADER_TRACEPARENT)
        return value if value and is_valid_traceparent(value) else None


class _Slot:
    """One request's share of :attr:`Ingest.in_flight`, given back once (resolved, or never sent)."""

    __slots__ = ("ingest", "count")

    def __init__(self, ingest: Ingest, count: int) -> None:
        self.ingest, self.count = ingest, count

    def release(self) -> None:
        self.ingest.in_flight -= self.count
        self.count = 0


def _flat_loc(loc: Sequence[Any]) -> list[Any]:
    # The body is flat: envelope.occurred_at arrives as occurred_at.
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "envelope" and parts[1] in ENVELOPE_INPUTS:
        return parts[1:]
    return parts


def describe_problems(problems: list[dict[str, Any]]) -> str:
    """One line for logs: ``amount: ... [rule]; ...``."""
    return "; ".join(f"{format_loc(p['loc'])}: {p['msg']} [{p['type']}]" for p in problems)
