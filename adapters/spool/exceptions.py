"""Errors of the store-and-forward spool."""

from bus.errors import EgovBusError


class SpoolError(EgovBusError):
    """Base class: the spool could not store or hand back events."""


class SpoolFullError(SpoolError):
    """The spool holds its configured maximum of events; nothing more is accepted."""


class SpoolLockedError(SpoolError):
    """Another process uses this spool file."""
