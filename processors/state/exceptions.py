"""Errors of the processors' local state."""

from processors.exceptions import ProcessorError


class StateError(ProcessorError):
    """The local state store cannot be opened, read or restored."""

    stage = "state"


class StateLockedError(StateError):
    """Another worker process holds the state directory (each worker needs its own)."""
