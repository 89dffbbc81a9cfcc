"""Errors of the outbox relay."""

from bus.errors import EgovBusError


class OutboxError(EgovBusError):
    """Base class: the outbox table could not be read or updated."""


class OutboxDsnError(OutboxError):
    """The --dsn names no supported database."""


class OutboxLockedError(OutboxError):
    """Another relay already works on this outbox."""
