"""Errors of the Kafka client wrappers."""

from bus.errors import EgovBusError


class KafkaClientError(EgovBusError):
    """Base class: a Kafka client call failed."""


class BrokerUnavailableError(KafkaClientError):
    """No broker answered within the timeout."""


class DeliveryError(KafkaClientError):
    """The broker did not acknowledge one or more records."""

    @property
    def retriable(self) -> bool:
        return bool(self.fields.get("retriable", False))


class DeliveryTimeoutError(DeliveryError):
    """Records were still unacknowledged when the timeout ran out."""


class ConsumeError(KafkaClientError):
    """The consumer reported an error for a partition or the group."""


class ConsumeTimeoutError(ConsumeError):
    """Fewer records than asked for arrived before the timeout."""
