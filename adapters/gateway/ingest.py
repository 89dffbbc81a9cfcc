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
    how many events may wait for it at once (``None``: ``EGOV_GATEWAY_MAX_IN_FLIGHT`` where the
    gateway is built from settings, else 10,000)."""

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

    async def publish(self, events: list[Any], themes: list[str], traceparent: str | None) -> list[Any]:
        """Publish and wait for each event's ack or spooling; 503 if the spool is full or the broker refuses."""
        config, publisher = self.config, self.publisher
        try:
            results = await run_in_threadpool(
                publisher.publish_many_acked, events, timeout=config.ack_timeout_s,
                traceparents=[traceparent] * len(events) if traceparent else None,
            )
        except SpoolFullError as exc:
            raise Rejected(503, "unavailable", themes[0], exc.message, {"Retry-After": "60"}) from None
        except (PublisherError, SpoolError) as exc:
            raise Rejected(503, "unavailable", themes[0], exc.message, {"Retry-After": "5"}) from None
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


def _flat_loc(loc: Sequence[Any]) -> list[Any]:
    # The body is flat: envelope.occurred_at arrives as occurred_at.
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "envelope" and parts[1] in ENVELOPE_INPUTS:
        return parts[1:]
    return parts


def describe_problems(problems: list[dict[str, Any]]) -> str:
    """One line for logs: ``amount: ... [rule]; ...``."""
    return "; ".join(f"{format_loc(p['loc'])}: {p['msg']} [{p['type']}]" for p in problems)
