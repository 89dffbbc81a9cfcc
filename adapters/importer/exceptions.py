"""Errors of the batch importer."""

from bus.errors import EgovBusError


class ImportError_(EgovBusError):
    """Base class of importer errors (named with a trailing underscore: ``ImportError`` is a builtin)."""


class MappingError(ImportError_):
    """The mapping file is unreadable or does not fit the event type."""


class InputFileError(ImportError_):
    """The input file cannot be read as CSV or JSONL."""
