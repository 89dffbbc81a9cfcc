"""The HTTP ingest gateway: JSON events from any regional system onto the bus.

``POST /v1/events/{EventName}`` takes one event as a flat JSON object: the
event's own fields plus the envelope inputs ``occurred_at`` (required),
``region_code`` (defaults to the API key's region), ``source_system`` and
``event_id`` (send one to make retries idempotent). A person's NIK goes in
``nik`` and is pseudonymized here. ``POST /v1/batch`` takes
``{"events": [{"event_type": ..., ...}, ...]}``: all valid or none published.

Answers: 202 once each event is acknowledged by the broker or durably
spooled; 401 missing/unknown key; 403 ``region_code`` not the key's region;
404 unknown event type; 413 body over the limit; 422 invalid, naming each
field; 429 the key's rate limit exceeded (with ``Retry-After``); 503 the
spool is full or the broker did not answer in time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from adapters.gateway.auth import ApiKeyStore
from adapters.gateway.exceptions import Rejected
from adapters.gateway.ingest import (
    DEFAULT_MAX_BATCH_EVENTS,
    DEFAULT_MAX_BODY_BYTES,
    ENVELOPE_INPUTS,
    GatewayConfig,
    Ingest,
    describe_problems,
)
from adapters.gateway.openapi import request_schema
from adapters.gateway.prefilter import RateLimitPrefilter
from adapters.gateway.ratelimit import RateLimiter
from adapters.gateway.routers import events_router, operations_router
from adapters.metrics import GATEWAY_REJECTED
from adapters.sdk import Publisher
from schemas import EVENT_TYPES, EventType
from schemas.regions import is_current_region

__all__ = [
    "DEFAULT_MAX_BATCH_EVENTS",
    "DEFAULT_MAX_BODY_BYTES",
    "ENVELOPE_INPUTS",
    "GatewayConfig",
    "Rejected",
    "create_app",
    "describe_problems",
    "request_schema",
]


def create_app(
    publisher: Publisher,
    keys: ApiKeyStore,
    config: GatewayConfig | None = None,
    *,
    event_types: Sequence[EventType] | None = None,
    on_shutdown: Callable[[], None] | None = None,
    limiter: RateLimiter | None = None,
) -> FastAPI:
    """The gateway application around a running ``publisher`` (created with ``confirm=True``).

    ``limiter`` holds the per-key token buckets (default: 200 events/s, burst
    1000 for a key whose entry sets no ``rate``/``burst``).

    Only wiring: the routes are in :mod:`adapters.gateway.routers`, what they
    share in :class:`~adapters.gateway.ingest.Ingest`. ``on_shutdown`` runs (in
    a worker thread) when the server stops, e.g. closing the publisher.
    """
    config = config or GatewayConfig()
    types = {et.name: et for et in (event_types or EVENT_TYPES.values())}
    keys.check_regions(is_current_region)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            await run_in_threadpool(on_shutdown)

    app = FastAPI(
        title="egov-bus ingest gateway",
        version="1",
        description=__doc__,
        docs_url="/docs",
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )

    @app.exception_handler(Rejected)
    async def _rejected(_request: Request, exc: Rejected) -> JSONResponse:
        GATEWAY_REJECTED.labels(exc.theme, exc.reason).inc()
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    ingest = Ingest(publisher, keys, config, types, limiter=limiter)
    app.include_router(events_router(ingest))
    # A key out of tokens is answered before FastAPI's routing: a flood's 429s stay cheap.
    app.add_middleware(RateLimitPrefilter, ingest=ingest)
    app.include_router(operations_router(publisher))
    return app
