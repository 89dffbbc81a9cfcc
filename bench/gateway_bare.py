"""B4's baseline: a bare FastAPI endpoint with a pydantic body comparable to the gateway's.

The same fields as a ``BudgetAllocated`` request to ``POST /v1/events/BudgetAllocated``
(and a ``/v1/batch`` of them), validated by pydantic, answered 202 with a fresh event id
— and nothing else: no key lookup, no Avro, no broker. It imports nothing of egov-bus on
purpose; ``bench/gateway.py`` runs it on the same uvicorn settings as the gateway.

    .venv/bin/python -m bench.gateway_bare --port 8090 [--workers 1] [--log-level warning]
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field


class BudgetBody(BaseModel):
    """The fields of a gateway ``BudgetAllocated`` request, typed, without the bus's shape rules."""

    event_id: uuid.UUID | None = None
    region_code: str | None = None
    source_system: str = Field(min_length=1)
    occurred_at: AwareDatetime
    allocation_id: str = Field(min_length=1)
    fiscal_year: int
    agency_code: str
    program_code: str
    activity_code: str
    sub_activity_code: str | None = None
    amount: Decimal = Field(ge=0, max_digits=20, decimal_places=2)


class BatchItem(BudgetBody):
    """One entry of a batch: the event type named, as the gateway's batch wants."""

    event_type: Literal["BudgetAllocated"]


class BatchBody(BaseModel):
    """``{"events": [...]}``, at most 1000 (the gateway's default limit)."""

    events: list[BatchItem] = Field(min_length=1, max_length=1000)


app = FastAPI(title="B4 bare endpoint")


@app.post("/v1/events/BudgetAllocated", status_code=202)
async def publish(body: BudgetBody) -> JSONResponse:
    """Validate and answer as the gateway does when the broker acked."""
    return JSONResponse({"event_id": str(body.event_id or uuid.uuid4()), "status": "acked"}, status_code=202)


@app.post("/v1/batch", status_code=202)
async def batch(body: BatchBody) -> JSONResponse:
    """Validate every event and answer with one id each."""
    return JSONResponse({"events": [{"event_id": str(e.event_id or uuid.uuid4()), "status": "acked"}
                                    for e in body.events]}, status_code=202)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive (the bench waits for it)."""
    return {"status": "ok", "started": datetime.now().isoformat(timespec="seconds")}


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    # As adapters/gateway/server.py starts the gateway: uvicorn's default loop and HTTP
    # implementation ("auto"), no proxy headers; an import string only when workers are spawned.
    target = "bench.gateway_bare:app" if args.workers > 1 else app
    uvicorn.run(target, host=args.host, port=args.port, log_level=args.log_level, proxy_headers=False,
                workers=args.workers if args.workers > 1 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
