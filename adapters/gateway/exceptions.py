"""Errors of the HTTP ingest gateway."""

from bus.errors import EgovBusError


class GatewayError(EgovBusError):
    """Base class of gateway errors."""


class ApiKeyConfigError(GatewayError):
    """The API key file or variable is missing, unreadable or malformed."""
