"""The schema registry as the bus uses it: the client, subject naming and error mapping.

Each rule is written once here and used by the serde (:mod:`bus.serde.avro`)
and by schema registration (:mod:`topics.registry`):

* subjects follow the TopicRecordNameStrategy, ``<topic>-<record full name>``
  (:func:`topic_record_name_strategy`), set explicitly because confluent-kafka
  >= 2.14 defaults to a strategy only Confluent's own registry serves;
* every failed registry request becomes an egov error with structured fields
  (:func:`registry_error`): a 404 is :class:`UnknownSchemaError`, any other
  answer or no answer at all is :class:`RegistryError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka.schema_registry import (
    SchemaRegistryClient,
    SchemaRegistryError,
    topic_record_subject_name_strategy,
)
from confluent_kafka.serialization import MessageField, SerializationContext

from bus.serde.exceptions import RegistryError, UnknownSchemaError

SubjectNameStrategy = Callable[[str, str], str]
T = TypeVar("T")

#: HTTP status of "no such subject, version or schema id".
NOT_FOUND = 404


def topic_record_name_strategy(topic: str, record_name: str) -> str:
    """Subject ``<topic>-<record full name>`` (Confluent's TopicRecordNameStrategy)."""
    return topic_record_subject_name_strategy(SerializationContext(topic, MessageField.VALUE), record_name)


def make_registry_client(settings: Any) -> SchemaRegistryClient:
    """A ``SchemaRegistryClient`` configured from :class:`bus.settings.EgovSettings`."""
    return SchemaRegistryClient(settings.registry_config())


def registry_error(what: str, exc: BaseException, **fields: Any) -> RegistryError | UnknownSchemaError:
    """The egov error for a failed registry request ``what`` (``"registering <subject>"``, ...).

    A :class:`SchemaRegistryError` answer keeps its HTTP status and the registry's
    error code as fields ``status`` and ``error_code``: 404 gives
    :class:`UnknownSchemaError`, any other status :class:`RegistryError`. Anything
    else (connection refused, a timeout, DNS) is a registry that did not answer:
    :class:`RegistryError` with ``status=None``. ``fields`` (``subject``,
    ``schema_id``) are added to the error's.
    """
    if isinstance(exc, SchemaRegistryError):
        status, code = exc.http_status_code, exc.error_code
        if status == NOT_FOUND:
            return UnknownSchemaError(f"{what}: {exc.error_message}", status=status, error_code=code, **fields)
        return RegistryError(
            f"{what}: registry answered {status}: {exc.error_message}", status=status, error_code=code, **fields
        )
    return RegistryError(f"{what}: the registry did not answer: {type(exc).__name__}: {exc}", status=None, **fields)


def registry_call(what: str, fn: Callable[[], T], **fields: Any) -> T:
    """``fn()``, with any failure raised as :func:`registry_error` of it (the cause chained)."""
    try:
        return fn()
    except Exception as exc:  # SchemaRegistryError, or no answer (connection refused, timeouts, DNS)
        raise registry_error(what, exc, **fields) from exc


__all__ = [
    "NOT_FOUND",
    "SubjectNameStrategy",
    "make_registry_client",
    "registry_call",
    "registry_error",
    "topic_record_name_strategy",
]
