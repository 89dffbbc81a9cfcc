"""Avro serde in the Confluent wire format over a schema registry.

A serializer is a small callable with a validated configuration; the subject
name strategy is an injectable callable (TopicRecordNameStrategy by default,
set explicitly because confluent-kafka >= 2.14 defaults to a strategy only
Confluent's own registry serves).
"""

from bus.serde.avro import (
    AvroDeserializer,
    AvroSerializer,
    DecodedValue,
    make_registry_client,
    topic_record_name_strategy,
)
from bus.serde.exceptions import (
    AvroDecodeError,
    AvroEncodeError,
    RegistryError,
    SerdeError,
    TruncatedPayloadError,
    UnknownSchemaError,
    WireFormatError,
)
from bus.serde.wire import MAGIC_BYTE, pack_header, unpack_header

__all__ = [
    "AvroDeserializer",
    "AvroSerializer",
    "DecodedValue",
    "make_registry_client",
    "topic_record_name_strategy",
    "SerdeError",
    "WireFormatError",
    "TruncatedPayloadError",
    "UnknownSchemaError",
    "AvroDecodeError",
    "AvroEncodeError",
    "RegistryError",
    "MAGIC_BYTE",
    "pack_header",
    "unpack_header",
]
