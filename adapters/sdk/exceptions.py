"""Errors of the publisher SDK."""

from bus.errors import EgovBusError


class PublisherError(EgovBusError):
    """Base class of publisher errors."""


class PublisherClosedError(PublisherError):
    """The publisher was closed; create a new one."""


class PublishFailedError(PublisherError):
    """The broker refused an event for good (not retriable), or no spool could take it."""


class PublishTimeoutError(PublisherError):
    """Events were neither acknowledged nor spooled within the timeout."""


class NotAnEventError(PublisherError, TypeError):
    """Something other than a typed event of ``schemas.models`` was handed to the publisher.

    Also a ``TypeError``: it is a programming error, and callers that caught one keep working.
    """


class SigningKeyMissingError(PublisherError):
    """An event speaks for a region this publisher holds no signing key for (nothing was sent)."""
