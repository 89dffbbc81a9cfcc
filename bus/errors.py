"""The root of egov-bus's error hierarchy.

Every error the project raises on purpose derives from :class:`EgovBusError`,
so a caller can catch one class; subpackages define their own subclasses in
their ``exceptions.py``. Errors carry structured fields (not just a message)
so that DLQ headers, HTTP responses and CLI output can be built from them.
"""

from __future__ import annotations

from typing import Any


class EgovBusError(Exception):
    """Base class of every error raised by egov-bus."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, Any] = fields

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Structured form, for logs, DLQ headers and API error bodies."""
        return {"error": type(self).__name__, "message": self.message, **self.fields}


class ConfigurationError(EgovBusError):
    """Settings are missing, unknown or invalid."""
