"""Errors of the HTTP ingest gateway."""

from __future__ import annotations

from typing import Any

from bus.errors import EgovBusError


class GatewayError(EgovBusError):
    """Base class of gateway errors."""


class ApiKeyConfigError(GatewayError):
    """The API key file or variable is missing, unreadable or malformed."""


class SupervisorError(GatewayError):
    """``--workers N`` cannot run as asked: fewer than one worker, or the port cannot be bound."""


class Rejected(GatewayError):
    """An answer other than 202, with the metric reason and FastAPI-style ``detail``.

    ``detail`` is a message, or for 422 a list of ``{"loc", "msg", "type"}``
    problems; the app's exception handler turns it into the JSON response and
    counts it under ``reason`` and ``theme``.
    """

    def __init__(self, status: int, reason: str, theme: str, detail: Any, headers: dict[str, str] | None = None):
        super().__init__(str(detail), status=status, reason=reason, theme=theme)
        self.status, self.reason, self.theme, self.detail, self.headers = status, reason, theme, detail, headers
