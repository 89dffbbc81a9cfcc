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
field; 503 the spool is full or the broker did not answer in time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from adapters.gateway.auth import ApiKey, ApiKeyStore
from adapters.metrics import GATEWAY_ACCEPTED, GATEWAY_REJECTED
from adapters.privacy import NIK_FIELD, PERSON_FIELDS, find_raw_nik
from adapters.sdk import FAILED, Publisher, PublisherError
from adapters.spool import SpoolError, SpoolFullError
from bus.errors import EgovBusError
from schemas import EVENT_TYPES, EventType, SchemaValidationError
from schemas.exceptions import format_loc
from schemas.regions import is_current_region

log = logging.getLogger("egov.adapters.gateway")

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_BATCH_EVENTS = 1000
ENVELOPE_INPUTS = ("region_code", "source_system", "occurred_at", "event_id")
_UNKNOWN_THEME = "unknown"

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The region's API key (or `Authorization: Bearer <key>`)."
)


class Rejected(Exception):
    """An answer other than 202, with the metric reason and FastAPI-style ``detail``."""

    def __init__(self, status: int, reason: str, theme: str, detail: Any, headers: dict[str, str] | None = None):
        super().__init__(str(detail))
        self.status, self.reason, self.theme, self.detail, self.headers = status, reason, theme, detail, headers


def _problem(loc: Sequence[Any], msg: str, rule: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": rule}


@dataclass
class GatewayConfig:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_batch_events: int = DEFAULT_MAX_BATCH_EVENTS
    ack_timeout_s: float | None = None


def request_schema(et: EventType) -> dict[str, Any]:
    """JSON schema of the request body for one event type (flat: fields + envelope inputs)."""
    full = et.model.model_json_schema()
    properties = {k: v for k, v in full["properties"].items() if k != "envelope"}
    required = [r for r in full.get("required", []) if r != "envelope"]
    properties = {
        "occurred_at": {"type": "string", "format": "date-time",
                        "description": "When the fact happened (RFC 3339 with offset)."},
        "region_code": {"type": "string", "description": "Kemendagri code of the publishing region; defaults to the "
                                                         "API key's region and must equal it."},
        "source_system": {"type": "string", "description": "Name of the regional system (letters, digits, . _ -)."},
        "event_id": {"type": "string", "format": "uuid",
                     "description": "Optional UUID; resend the same one when retrying (idempotency key)."},
        **properties,
    }
    required = ["occurred_at", *required]
    if "nik_pseudonym" in properties:
        properties[NIK_FIELD] = {
            "type": "string", "pattern": "^[0-9]{16}$",
            "description": "The person's NIK: pseudonymized at the gateway, never stored or forwarded. Give either "
                           "nik or nik_pseudonym with the derived fields.",
        }
        required = [r for r in required if r not in PERSON_FIELDS]
    return {"type": "object", "title": f"{et.name}Request", "description": et.doc, "properties": properties,
            "required": required, "additionalProperties": False}


def create_app(
    publisher: Publisher,
    keys: ApiKeyStore,
    config: GatewayConfig | None = None,
    *,
    event_types: Sequence[EventType] | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    """The gateway application around a running ``publisher`` (created with ``confirm=True``).

    ``on_shutdown`` runs (in a worker thread) when the server stops, e.g. closing the publisher.
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
        body = {"detail": exc.detail} if isinstance(exc.detail, list) else {"detail": exc.detail}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    def authenticate(request: Request, theme: str, presented: str | None) -> ApiKey:
        if not presented:
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                presented = auth[7:].strip()
        owner = keys.authenticate(presented)
        if owner is None:
            raise Rejected(401, "unauthorized", theme, "missing or unknown API key", {"WWW-Authenticate": "ApiKey"})
        return owner

    async def read_json(request: Request, theme: str) -> Any:
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
            raise Rejected(422, "invalid", theme, [_problem(["body"], f"not valid JSON: {exc}", "json_invalid")]) from None

    def build(et: EventType, data: Any, owner: ApiKey, loc: list[Any]) -> Any:
        if not isinstance(data, dict):
            raise Rejected(422, "invalid", et.theme, [_problem(loc, "must be a JSON object", "object_type")])
        region = data.get("region_code", owner.region_code)
        if region != owner.region_code:
            raise Rejected(403, "forbidden", et.theme,
                           f"the API key belongs to region {owner.region_code}, the event says {region!r}")
        fields = {k: v for k, v in data.items() if k not in ("event_type",)}
        raw_nik = find_raw_nik({k: v for k, v in fields.items() if k != NIK_FIELD})
        if raw_nik is not None:
            raise Rejected(422, "invalid", et.theme, [_problem(
                [*loc, *raw_nik], "holds 16 or more digits in a row, which looks like a raw NIK/NIP; send a "
                f"person's NIK in `{NIK_FIELD}`", "raw_nik")])
        fields["region_code"] = owner.region_code
        try:
            return publisher.build(et, fields)
        except SchemaValidationError as exc:
            raise Rejected(422, "invalid", et.theme, [
                _problem([*loc, *_flat_loc(e["loc"])], e["msg"], e["rule"]) for e in exc.errors
            ]) from None
        except EgovBusError as exc:
            raise Rejected(422, "invalid", et.theme, [_problem(loc, exc.message, type(exc).__name__)]) from None

    async def publish(events: list[Any], themes: list[str], traceparent: str | None) -> list[Any]:
        try:
            results = await run_in_threadpool(
                publisher.publish_many, events, wait=True, timeout=config.ack_timeout_s,
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

    def _traceparent(request: Request) -> str | None:
        value = request.headers.get("traceparent")
        return value if value and _valid_traceparent(value) else None

    def make_endpoint(et: EventType):
        async def endpoint(request: Request, api_key: str | None = Depends(api_key_header)) -> JSONResponse:
            owner = authenticate(request, et.theme, api_key)
            data = await read_json(request, et.theme)
            event = build(et, data, owner, ["body"])
            result = (await publish([event], [et.theme], _traceparent(request)))[0]
            return JSONResponse({"event_id": result.event_id, "status": result.outcome}, status_code=202)

        endpoint.__name__ = f"publish_{et.name}"
        return endpoint

    responses = {
        202: {"description": "Accepted: acknowledged by the broker (`acked`) or durably spooled (`spooled`)",
              "content": {"application/json": {"schema": {"type": "object", "properties": {
                  "event_id": {"type": "string"}, "status": {"type": "string", "enum": ["acked", "spooled"]}}}}}},
        401: {"description": "Missing or unknown API key"},
        403: {"description": "region_code is not the API key's region"},
        413: {"description": "Body over the size limit"},
        422: {"description": "Invalid event; `detail` lists each field path (`loc`), message and rule (`type`)"},
        503: {"description": "Spool full or broker not answering; retry later with the same event_id"},
    }
    for et in types.values():
        app.add_api_route(
            f"/v1/events/{et.name}",
            make_endpoint(et),
            methods=["POST"],
            status_code=202,
            summary=f"Publish one {et.name} ({et.theme})",
            description=et.doc,
            tags=[et.theme],
            responses=responses,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": request_schema(et)}}}},
        )

    @app.post("/v1/events/{event_type}", status_code=202, tags=["events"], responses={
        404: {"description": "Unknown event type"}, **responses})
    async def unknown_event_type(event_type: str, request: Request,
                                 api_key: str | None = Depends(api_key_header)) -> JSONResponse:
        """Any name that is not an event type: 404 listing the known ones (after authentication)."""
        authenticate(request, _UNKNOWN_THEME, api_key)
        raise Rejected(404, "unknown_type", _UNKNOWN_THEME,
                       f"unknown event type {event_type!r}; known: {', '.join(sorted(types))}")

    @app.post("/v1/batch", status_code=202, tags=["events"], responses=responses, openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["events"], "additionalProperties": False,
            "properties": {"events": {"type": "array", "minItems": 1, "maxItems": config.max_batch_events,
                                      "items": {"type": "object", "required": ["event_type"],
                                                "properties": {"event_type": {"type": "string",
                                                                              "enum": sorted(types)}}}}}}}}}})
    async def batch(request: Request, api_key: str | None = Depends(api_key_header)) -> JSONResponse:
        """Several events of any types, one region: all are valid and published, or none is."""
        owner = authenticate(request, _UNKNOWN_THEME, api_key)
        data = await read_json(request, _UNKNOWN_THEME)
        items = data.get("events") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            raise Rejected(422, "invalid", _UNKNOWN_THEME,
                           [_problem(["body", "events"], "must be a non-empty list of events", "list_type")])
        if len(items) > config.max_batch_events:
            raise Rejected(413, "too_large", _UNKNOWN_THEME, f"more than {config.max_batch_events} events")
        events, themes, problems = [], [], []
        forbidden: Rejected | None = None
        for index, item in enumerate(items):
            loc = ["body", "events", index]
            name = item.get("event_type") if isinstance(item, dict) else None
            et = types.get(name) if isinstance(name, str) else None
            if et is None:
                problems.append(_problem([*loc, "event_type"], f"unknown event type {name!r}", "event_type"))
                continue
            try:
                events.append(build(et, item, owner, loc))
                themes.append(et.theme)
            except Rejected as exc:
                if exc.status == 403:
                    forbidden = forbidden or exc
                else:
                    problems.extend(exc.detail if isinstance(exc.detail, list) else [_problem(loc, str(exc.detail),
                                                                                              exc.reason)])
        if forbidden is not None:
            raise forbidden
        if problems:
            raise Rejected(422, "invalid", themes[0] if themes else _UNKNOWN_THEME, problems)
        results = await publish(events, themes, _traceparent(request))
        return JSONResponse({"events": [{"event_id": r.event_id, "status": r.outcome} for r in results]},
                            status_code=202)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: {"description": "Cannot accept events"}})
    async def readyz() -> JSONResponse:
        """Ready when events can be accepted: the broker answers or the spool has room."""
        reachable = await run_in_threadpool(publisher.broker_reachable, 2.0)
        spool = publisher.spool
        room = spool is not None and not spool.closed and spool.depth < spool.max_events
        body = {"broker": "reachable" if reachable else "unreachable", "mode": publisher.mode,
                "spool_depth": spool.depth if spool is not None else None}
        return JSONResponse({"status": "ready" if reachable or room else "not ready", **body},
                            status_code=200 if reachable or room else 503)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def _flat_loc(loc: Sequence[Any]) -> list[Any]:
    # The body is flat: envelope.occurred_at arrives as occurred_at.
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "envelope" and parts[1] in ENVELOPE_INPUTS:
        return parts[1:]
    return parts


def _valid_traceparent(value: str) -> bool:
    parts = value.split("-")
    return (len(parts) == 4 and parts[0] == "00" and len(parts[1]) == 32 and len(parts[2]) == 16
            and len(parts[3]) == 2 and all(c in "0123456789abcdef" for c in "".join(parts[1:]))
            and set(parts[1]) != {"0"})


def describe_problems(problems: list[dict[str, Any]]) -> str:
    """One line for logs: ``amount: ... [rule]; ...``."""
    return "; ".join(f"{format_loc(p['loc'])}: {p['msg']} [{p['type']}]" for p in problems)
