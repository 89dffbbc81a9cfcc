"""The gateway's routes, one router per concern: event ingest, operations (health, readiness, metrics)."""

from adapters.gateway.routers.events import events_router
from adapters.gateway.routers.operations import operations_router

__all__ = ["events_router", "operations_router"]
