"""The publisher SDK for regional systems written in Python.

::

    from adapters.sdk import Publisher
    from schemas.models import BudgetAllocated

    with Publisher(load_settings(), source_system="sipd") as publisher:
        publisher.publish(BudgetAllocated.new(region_code="32.01", source_system="sipd", ...))

:class:`Publisher` is the facade; its parts are usable on their own:
:class:`EventBuilder` (fields -> validated, pseudonymized, encoded record, no
producer needed), :class:`DeliveryTracker` / :class:`Waiter` (what a call waits
for), :class:`SpoolForwarder` (replays the spool) and :mod:`adapters.sdk.mode`
(direct or spooling, as plain transition functions).
"""

from adapters.sdk.builder import EncodedRecord, EventBuilder
from adapters.sdk.codec import CE_SPECVERSION, CONTENT_TYPE, EventCodec, ce_source, ce_time, traceparent_for
from adapters.sdk.delivery import ACKED, FAILED, SPOOLED, DeliveryTracker, PublishResult, Waiter
from adapters.sdk.exceptions import (NotAnEventError, PublisherClosedError, PublisherError, PublishFailedError,
                                     PublishTimeoutError)
from adapters.sdk.forwarder import SpoolForwarder
from adapters.sdk.publisher import Publisher

__all__ = [
    "Publisher",
    "PublishResult",
    "EventBuilder",
    "EncodedRecord",
    "EventCodec",
    "DeliveryTracker",
    "Waiter",
    "SpoolForwarder",
    "ACKED",
    "SPOOLED",
    "FAILED",
    "CE_SPECVERSION",
    "CONTENT_TYPE",
    "ce_source",
    "ce_time",
    "traceparent_for",
    "PublisherError",
    "PublisherClosedError",
    "PublishFailedError",
    "PublishTimeoutError",
    "NotAnEventError",
]
