"""Errors of the processors' Kafka clients."""

from processors.exceptions import ProcessorError


class EngineKafkaError(ProcessorError):
    """The broker refused or failed an operation the worker cannot carry on without."""

    stage = "kafka"


class FencedError(EngineKafkaError):
    """Another instance with this worker's transactional id or group instance id took over (this one is a zombie)."""
