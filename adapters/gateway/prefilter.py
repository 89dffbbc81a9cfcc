"""The cheap first answer to a key that is out of tokens, before FastAPI sees the request.

A flooding key is refused hundreds of times a second. Through FastAPI (routing,
the API-key dependency, the exception handler) each 429 cost about 1.6 ms of the
gateway's one event loop on the 2-core bench machine, as much as ``/healthz``;
the same answer from a bare ASGI callable costs about a seventh of that, and
what the flood does not spend is what the other regions' requests wait for.

This middleware only looks: an unknown or missing key, a key with a token left,
or any path but ``POST /v1/…`` passes on untouched, and the route's
:meth:`~adapters.gateway.ingest.Ingest.authenticate` stays the one place that
takes tokens (nothing is taken twice, and a request that loses a race for the
last token is refused there, with the same answer).
"""

from __future__ import annotations

from typing import Any

import orjson

from adapters.gateway.exceptions import Rejected
from adapters.gateway.ingest import UNKNOWN_THEME, Ingest
from adapters.metrics import GATEWAY_REJECTED

_EVENTS_PREFIX = "/v1/events/"


class RateLimitPrefilter:
    """Pure ASGI middleware: 429 for a known key whose bucket is empty, everything else passed on."""

    def __init__(self, app: Any, ingest: Ingest) -> None:
        self.app = app
        self.ingest = ingest

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        owner = self.ingest.keys.authenticate(_presented_key(scope["headers"]))
        if owner is None:  # the route answers 401 (and documents it)
            return await self.app(scope, receive, send)
        try:
            self.ingest.throttle(owner, 0, _theme(self.ingest, scope["path"]))
        except Rejected as exc:
            GATEWAY_REJECTED.labels(exc.theme, exc.reason).inc()
            headers = [(b"content-type", b"application/json")]
            headers += [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
            await send({"type": "http.response.start", "status": exc.status, "headers": headers})
            await send({"type": "http.response.body", "body": orjson.dumps({"detail": exc.detail})})
            return None
        return await self.app(scope, receive, send)


def _presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    # As the route reads it: X-API-Key first, else Authorization: Bearer.
    bearer = None
    for name, value in headers:
        if name == b"x-api-key" and value:
            return value.decode("latin-1")
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            bearer = value[7:].decode("latin-1").strip()
    return bearer


def _theme(ingest: Ingest, path: str) -> str:
    # The metric's theme label, as the route would give it (the batch route's is "unknown").
    if path.startswith(_EVENTS_PREFIX):
        et = ingest.types.get(path[len(_EVENTS_PREFIX):])
        if et is not None:
            return et.theme
    return UNKNOWN_THEME
