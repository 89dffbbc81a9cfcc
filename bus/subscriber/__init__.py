"""Subscriber SDK for central services: typed events from theme topics.

``bus`` may import ``schemas`` (the contracts), never ``topics``, ``adapters``
or ``processors``.

::

    from bus.settings import load_settings
    from bus.subscriber import Subscriber

    with Subscriber(load_settings(), "my-service", ["complaints"], region_prefix="32") as sub:
        for ev in sub.processing():          # done (committable) when the loop body finished
            print(ev.event_type, ev.region_code, ev.event.envelope.occurred_at)

See :class:`Subscriber` for commit-after-done, replay from a time
(``from_time``), filters and undecodable records; ``egov-bus tail`` is the
command-line face (:mod:`bus.subscriber.cli`).
"""

from bus.subscriber.exceptions import (
    ForeignRecordError,
    InvalidFilterError,
    InvalidTimeError,
    ReplayError,
    SubscriberClosedError,
    SubscriberError,
    TopicMissingError,
    TransientDecodeError,
    UnknownThemeError,
)
from bus.subscriber.filters import EventFilter, region_matches
from bus.subscriber.records import SubscribedEvent, Undecodable
from bus.subscriber.stats import SubscriberStats
from bus.subscriber.subscriber import Subscriber
from bus.subscriber.timeparse import parse_time

__all__ = [
    "Subscriber",
    "SubscribedEvent",
    "Undecodable",
    "SubscriberStats",
    "EventFilter",
    "region_matches",
    "parse_time",
    "SubscriberError",
    "UnknownThemeError",
    "InvalidFilterError",
    "InvalidTimeError",
    "TopicMissingError",
    "ReplayError",
    "SubscriberClosedError",
    "TransientDecodeError",
    "ForeignRecordError",
]
