"""Operations: ``/healthz`` (alive), ``/readyz`` (can accept events), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from adapters.metrics import scrape_registry
from adapters.sdk import Publisher


def operations_router(publisher: Publisher) -> APIRouter:
    """Health, readiness (broker reachable or room in the spool) and metrics of this process."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "Cannot accept events"}})
    async def readyz() -> JSONResponse:
        """Ready when events can be accepted: the broker answers or the spool has room."""
        reachable = await run_in_threadpool(publisher.broker_reachable, 2.0)
        spool = publisher.spool
        room = spool is not None and not spool.closed and spool.depth < spool.max_events
        body = {"broker": "reachable" if reachable else "unreachable", "mode": publisher.mode,
                "spool_depth": spool.depth if spool is not None else None}
        return JSONResponse({"status": "ready" if reachable or room else "not ready", **body},
                            status_code=200 if reachable or room else 503)

    @router.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics of this process (with ``--workers N``: of all the workers, aggregated)."""
        return Response(generate_latest(scrape_registry()), media_type=CONTENT_TYPE_LATEST)

    return router
