"""The publisher SDK for regional systems written in Python.

::

    from adapters.sdk import Publisher
    from schemas.models import BudgetAllocated

    with Publisher(load_settings(), source_system="sipd") as publisher:
        publisher.publish(BudgetAllocated.new(region_code="32.01", source_system="sipd", ...))
"""

from adapters.sdk.codec import CE_SPECVERSION, CONTENT_TYPE, EventCodec, ce_source, ce_time, traceparent_for
from adapters.sdk.exceptions import PublisherClosedError, PublisherError, PublishFailedError, PublishTimeoutError
from adapters.sdk.publisher import ACKED, FAILED, SPOOLED, PublishResult, Publisher

__all__ = [
    "Publisher",
    "PublishResult",
    "EventCodec",
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
]
