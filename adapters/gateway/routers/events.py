"""Event ingest: ``POST /v1/events/{EventName}`` (one route per event type) and ``POST /v1/batch``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from adapters.gateway.exceptions import Rejected
from adapters.gateway.ingest import UNKNOWN_THEME, Ingest, problem
from adapters.gateway.openapi import RESPONSES, batch_request_schema, request_schema
from adapters.metrics import GATEWAY_REQUESTS_IN_FLIGHT
from schemas import EventType

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The region's API key (or `Authorization: Bearer <key>`)."
)


def _in_flight(endpoint: Callable[..., Awaitable[JSONResponse]]) -> Callable[..., Awaitable[JSONResponse]]:
    """Counts the ingest requests being handled in ``egov_gateway_requests_in_flight`` (the HPA's
    metric): from routing to the answer, whatever the answer is."""

    @functools.wraps(endpoint)  # FastAPI reads the parameters through __wrapped__
    async def tracked(*args: Any, **kwargs: Any) -> JSONResponse:
        GATEWAY_REQUESTS_IN_FLIGHT.inc()
        try:
            return await endpoint(*args, **kwargs)
        finally:
            GATEWAY_REQUESTS_IN_FLIGHT.dec()

    return tracked


def _event_endpoint(ingest: Ingest, et: EventType):
    @_in_flight
    async def endpoint(request: Request, api_key: str | None = Depends(api_key_header)) -> JSONResponse:
        owner = ingest.authenticate(request, et.theme, api_key)
        ingest.admit(et.theme)
        data = await ingest.read_json(request, et.theme)
        event = ingest.build(et, data, owner, ["body"])
        result = (await ingest.publish([event], [et.theme], ingest.traceparent(request)))[0]
        return JSONResponse({"event_id": result.event_id, "status": result.outcome}, status_code=202)

    # Names the OpenAPI operation (publish_BudgetAllocated...).
    endpoint.__name__ = f"publish_{et.name}"
    return endpoint


def events_router(ingest: Ingest) -> APIRouter:
    """The ingest routes for ``ingest.types``; the catch-all 404 route comes after the typed ones."""
    router = APIRouter()
    types = ingest.types
    config = ingest.config
    for et in types.values():
        router.add_api_route(
            f"/v1/events/{et.name}",
            _event_endpoint(ingest, et),
            methods=["POST"],
            status_code=202,
            summary=f"Publish one {et.name} ({et.theme})",
            description=et.doc,
            tags=[et.theme],
            responses=RESPONSES,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": request_schema(et)}}}},
        )

    @router.post("/v1/events/{event_type}", status_code=202, tags=["events"], responses={
        404: {"description": "Unknown event type"}, **RESPONSES})
    async def unknown_event_type(event_type: str, request: Request,
                                 api_key: str | None = Depends(api_key_header)) -> JSONResponse:
        """Any name that is not an event type: 404 listing the known ones (after authentication)."""
        ingest.authenticate(request, UNKNOWN_THEME, api_key)
        raise Rejected(404, "unknown_type", UNKNOWN_THEME,
                       f"unknown event type {event_type!r}; known: {', '.join(sorted(types))}")

    @router.post("/v1/batch", status_code=202, tags=["events"], responses=RESPONSES, openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": batch_request_schema(types, config.max_batch_events)}}}})
    @_in_flight
    async def batch(request: Request, api_key: str | None = Depends(api_key_header)) -> JSONResponse:
        """Several events of any types, one region: all are valid and published, or none is."""
        # Only a check for a token left here: the count is known once the body is read.
        owner = ingest.authenticate(request, UNKNOWN_THEME, api_key, events=0)
        ingest.admit(UNKNOWN_THEME)
        data = await ingest.read_json(request, UNKNOWN_THEME)
        items = data.get("events") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            raise Rejected(422, "invalid", UNKNOWN_THEME,
                           [problem(["body", "events"], "must be a non-empty list of events", "list_type")])
        if len(items) > config.max_batch_events:
            raise Rejected(413, "too_large", UNKNOWN_THEME, f"more than {config.max_batch_events} events")
        # Before the events are validated: a batch over the key's rate costs no building.
        ingest.throttle(owner, len(items), UNKNOWN_THEME)
        events: list[Any] = []
        themes: list[str] = []
        problems: list[dict[str, Any]] = []
        forbidden: Rejected | None = None
        for index, item in enumerate(items):
            loc = ["body", "events", index]
            name = item.get("event_type") if isinstance(item, dict) else None
            et = types.get(name) if isinstance(name, str) else None
            if et is None:
                problems.append(problem([*loc, "event_type"], f"unknown event type {name!r}", "event_type"))
                continue
            try:
                events.append(ingest.build(et, item, owner, loc))
                themes.append(et.theme)
            except Rejected as exc:
                if exc.status == 403:
                    forbidden = forbidden or exc
                else:
                    problems.extend(exc.detail if isinstance(exc.detail, list) else [problem(loc, str(exc.detail),
                                                                                             exc.reason)])
        if forbidden is not None:
            raise forbidden
        if problems:
            raise Rejected(422, "invalid", themes[0] if themes else UNKNOWN_THEME, problems)
        results = await ingest.publish(events, themes, ingest.traceparent(request))
        return JSONResponse({"events": [{"event_id": r.event_id, "status": r.outcome} for r in results]},
                            status_code=202)

    return router
