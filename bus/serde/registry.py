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

import re
from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka.schema_registry import (
    SchemaRegistryClient,
    SchemaRegistryError,
    topic_record_subject_name_strategy,
)
from confluent_kafka.serialization import MessageField, SerializationContext

from bus.serde.exceptions import RegistryError, RegistryUnavailableError, UnknownSchemaError

SubjectNameStrategy = Callable[[str, str], str]
T = TypeVar("T")

#: HTTP status of "no such subject, version or schema id".
NOT_FOUND = 404
# The first segment of the ccompat API after the configured base URL.
_API_PATH = re.compile(r"/(?=(?:subjects|schemas|compatibility|config|mode|contexts)(?:[/?]|$))")


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
    :class:`RegistryUnavailableError` with ``status=None``, one line naming its URL
    (when the failed request tells it) and what to do. ``fields`` (``subject``,
    ``schema_id``) are added to the error's.
    """
    if isinstance(exc, SchemaRegistryError):
        status, code = exc.http_status_code, exc.error_code
        if status == NOT_FOUND:
            return UnknownSchemaError(f"{what}: {exc.error_message}", status=status, error_code=code, **fields)
        return RegistryError(
            f"{what}: registry answered {status}: {exc.error_message}", status=status, error_code=code, **fields
        )
    url = _url_of(exc)
    at = f" at {url}" if url else ""
    return RegistryUnavailableError(
        f"cannot reach the schema registry{at} ({what}: {_reason(exc)}) — is the stack up? egov-bus dev up "
        "(or check EGOV_SCHEMA_REGISTRY_URL)", status=None, **fields)


def _url_of(exc: BaseException) -> str | None:
    """The registry's base URL from the request that failed (httpx keeps it), without the API path."""
    try:
        url = str(exc.request.url)  # type: ignore[attr-defined]  # httpx raises RuntimeError when unset
    except (AttributeError, RuntimeError):
        return None
    # The request went to <base>/subjects/..., <base>/schemas/ids/...: the base is what the user configured.
    return _API_PATH.split(url, 1)[0]


def _reason(exc: BaseException) -> str:
    """``Connection refused``, ``timed out``: the cause as a user reads it (no errno, no exception class)."""
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)).strip()
    if not text or isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
        return f"no answer within the timeout{': ' + text if text else ''}"
    return text if len(text) <= 200 else text[:197] + "..."


def check_registry(settings: Any, client: SchemaRegistryClient | None = None) -> Any:
    """Raise :class:`RegistryUnavailableError` (or the registry's refusal) unless the registry answers.

    The preflight of the commands that encode or decode (``views``, ``tail``, the publishers, the
    processors): one cheap request, so a registry that is down is one line at the start instead of an
    error on the first record, or none at all when there is no record yet. Returns ``settings``.
    """
    client = client or make_registry_client(settings)
    try:
        registry_call("listing subjects", client.get_subjects)
    except RegistryUnavailableError as exc:
        raise RegistryUnavailableError(
            f"cannot reach the schema registry at {settings.schema_registry_url} within "
            f"{settings.request_timeout_s:g} s ({_reason(exc.__cause__ or exc)}) — is the stack up? egov-bus dev up "
            "(or check EGOV_SCHEMA_REGISTRY_URL)", url=settings.schema_registry_url, status=None) from None
    except RegistryError as exc:
        raise RegistryError(f"the schema registry at {settings.schema_registry_url} refused a request: "
                            f"{exc.fields.get('status')} {_message_of(exc)} — check EGOV_SCHEMA_REGISTRY_URL and "
                            "EGOV_SCHEMA_REGISTRY_BASIC_AUTH", url=settings.schema_registry_url,
                            status=exc.fields.get("status")) from None
    return settings


def _message_of(exc: RegistryError) -> str:
    cause = exc.__cause__
    return getattr(cause, "error_message", None) or str(exc)


def registry_call(what: str, fn: Callable[[], T], **fields: Any) -> T:
    """``fn()``, with any failure raised as :func:`registry_error` of it (the cause chained)."""
    try:
        return fn()
    except Exception as exc:  # SchemaRegistryError, or no answer (connection refused, timeouts, DNS)
        raise registry_error(what, exc, **fields) from exc


__all__ = [
    "NOT_FOUND",
    "SubjectNameStrategy",
    "check_registry",
    "make_registry_client",
    "registry_call",
    "registry_error",
    "topic_record_name_strategy",
]
