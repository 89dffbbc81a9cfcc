"""Avro serde in the Confluent wire format over a schema registry.

A serializer is a small callable with a validated configuration; the subject
name strategy is an injectable callable (TopicRecordNameStrategy by default).
Subject naming and the mapping of registry failures to egov errors are
written once, in :mod:`bus.serde.registry`, and used by ``topics.registry`` too.
"""

from bus.serde.avro import AvroDeserializer, AvroSerializer, DecodedValue
from bus.serde.exceptions import (
    AvroDecodeError,
    AvroEncodeError,
    RegistryError,
    RegistryUnavailableError,
    SerdeError,
    TruncatedPayloadError,
    UnknownSchemaError,
    SchemaNotRegisteredError,
    WireFormatError,
)
from bus.serde.registry import (
    SubjectNameStrategy,
    check_registry,
    make_registry_client,
    registry_call,
    registry_error,
    topic_record_name_strategy,
)
from bus.serde.wire import MAGIC_BYTE, pack_header, unpack_header

__all__ = [
    "AvroDeserializer",
    "AvroSerializer",
    "DecodedValue",
    "make_registry_client",
    "topic_record_name_strategy",
    "SubjectNameStrategy",
    "registry_call",
    "registry_error",
    "SerdeError",
    "WireFormatError",
    "TruncatedPayloadError",
    "UnknownSchemaError",
    "SchemaNotRegisteredError",
    "AvroDecodeError",
    "AvroEncodeError",
    "RegistryError",
    "RegistryUnavailableError",
    "check_registry",
    "MAGIC_BYTE",
    "pack_header",
    "unpack_header",
]
