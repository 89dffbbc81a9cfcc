"""Errors of the Kafka client wrappers."""

from bus.errors import EgovBusError


class KafkaClientError(EgovBusError):
    """Base class: a Kafka client call failed."""


class KafkaConnectionError(KafkaClientError):
    """The client could not work with the broker as configured (see :mod:`bus.kafka.connectivity`).

    Its message is one line naming the broker and the principal (never the
    password) and what to do; ``fields`` carry ``broker``, ``principal``,
    ``problem`` and librdkafka's ``code``.
    """


class BrokerUnavailableError(KafkaConnectionError):
    """No broker answered within the timeout."""


class KafkaAuthenticationError(KafkaConnectionError):
    """The broker refused the credentials (unknown user, wrong password, or no credentials where it wants some)."""


class KafkaTlsError(KafkaConnectionError):
    """The TLS handshake with the broker failed (most often: its certificate is not signed by the configured CA)."""


class KafkaAuthorizationError(KafkaConnectionError):
    """The broker refused an operation for the principal (its ACLs do not allow it): never worth retrying."""


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
