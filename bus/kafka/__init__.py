"""Thin typed wrappers over confluent-kafka's Producer, Consumer and AdminClient."""

from bus.kafka.consumer import ConsumedRecord, EgovConsumer
from bus.kafka.exceptions import (
    BrokerUnavailableError,
    ConsumeError,
    ConsumeTimeoutError,
    DeliveryError,
    DeliveryTimeoutError,
    KafkaClientError,
)
from bus.kafka.producer import EgovProducer

__all__ = [
    "ConsumedRecord",
    "EgovConsumer",
    "EgovProducer",
    "KafkaClientError",
    "BrokerUnavailableError",
    "DeliveryError",
    "DeliveryTimeoutError",
    "ConsumeError",
    "ConsumeTimeoutError",
]
