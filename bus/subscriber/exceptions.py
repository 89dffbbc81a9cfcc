"""Errors of the subscriber SDK (all :class:`bus.errors.EgovBusError`)."""

from __future__ import annotations

from bus.errors import EgovBusError


class SubscriberError(EgovBusError):
    """Base class: subscribing to or reading the theme topics failed."""


class UnknownThemeError(SubscriberError):
    """A theme that is not one of the 15 themes was asked for."""


class InvalidFilterError(SubscriberError):
    """An event-type or region filter that can never match (unknown name, wrong theme, bad code)."""


class InvalidTimeError(SubscriberError):
    """A start time that is neither ISO-8601 nor a relative duration such as ``10m``."""


class TopicMissingError(SubscriberError):
    """A theme topic does not exist on the broker (wrong prefix, topics not applied)."""


class ReplayError(SubscriberError):
    """The broker did not answer the offsets-for-times lookup of a replay in time."""


class SubscriberClosedError(SubscriberError):
    """The subscriber was used after :meth:`Subscriber.close`."""


class TransientDecodeError(SubscriberError):
    """A record could not be decoded for a reason that may pass (registry unreachable).

    The record is not skipped: the subscriber seeks back to it, so the next
    poll tries it again.
    """


class ForeignRecordError(SubscriberError):
    """A theme topic carries a record of another theme's event type (treated as undecodable)."""
