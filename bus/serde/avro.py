"""Avro serializer and deserializer over confluent-kafka's ``SchemaRegistryClient``.

Encoding and decoding use fastavro directly with schemas parsed once and
cached by schema id: confluent-kafka's own ``AvroSerializer`` re-walks the
record on every call, which costs more than the encoding itself on the hot
path (see docs/benchmarks.md). The registry client and the subject naming are
confluent-kafka's, used through :mod:`bus.serde.registry`.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from bus.serde.exceptions import (
    AvroDecodeError,
    AvroEncodeError,
    SchemaNotRegisteredError,
    SerdeError,
    TruncatedPayloadError,
    UnknownSchemaError,
)
from bus.serde.registry import SubjectNameStrategy, registry_call, topic_record_name_strategy
from bus.serde.wire import HEADER_SIZE, pack_header, unpack_header

# How long an unknown schema id is remembered as unknown, so that a burst of
# poison records does not turn into a burst of registry calls.
_NEGATIVE_CACHE_S = 30.0


def _schema_json(schema: Mapping[str, Any] | str) -> tuple[str, dict[str, Any]]:
    if isinstance(schema, str):
        return schema, json.loads(schema)
    return json.dumps(schema, separators=(",", ":")), dict(schema)


class AvroSerializer:
    """Encode records of one Avro schema into the Confluent wire format.

    The schema is registered (or looked up, with ``auto_register=False``) once
    per subject; the subject comes from ``subject_name_strategy(topic,
    record_full_name)``. Calls are thread-safe.
    """

    def __init__(
        self,
        registry: SchemaRegistryClient,
        schema: Mapping[str, Any] | str,
        *,
        subject_name_strategy: SubjectNameStrategy = topic_record_name_strategy,
        auto_register: bool = True,
    ) -> None:
        if not callable(subject_name_strategy):
            raise SerdeError("subject_name_strategy must be callable (topic, record_name) -> subject")
        self._registry = registry
        self._schema_str, schema_dict = _schema_json(schema)
        try:
            self._parsed = fastavro.parse_schema(schema_dict)
        except Exception as exc:
            raise AvroEncodeError(f"invalid Avro schema: {exc}") from exc
        if self._parsed.get("type") != "record":
            raise AvroEncodeError("only record schemas are supported", schema_type=self._parsed.get("type"))
        self.record_name: str = self._parsed["name"]
        self._strategy = subject_name_strategy
        self._auto_register = auto_register
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def parsed_schema(self) -> dict[str, Any]:
        return self._parsed

    def subject(self, topic: str) -> str:
        return self._strategy(topic, self.record_name)

    def schema_id(self, topic: str) -> int:
        """The registry id of this schema under the topic's subject (cached)."""
        subject = self.subject(topic)
        schema_id = self._ids.get(subject)
        if schema_id is not None:
            return schema_id
        with self._lock:
            if subject in self._ids:
                return self._ids[subject]
            schema = Schema(self._schema_str, "AVRO")
            if self._auto_register:
                schema_id = registry_call(
                    f"registering {subject}", lambda: self._registry.register_schema(subject, schema), subject=subject
                )
            else:
                try:
                    schema_id = registry_call(
                        f"looking up {subject}",
                        lambda: self._registry.lookup_schema(subject, schema).schema_id,
                        subject=subject,
                    )
                except UnknownSchemaError as exc:
                    # Publishers outside the dev stack only look schemas up: the operator registers them.
                    raise SchemaNotRegisteredError(
                        f"schema {self.record_name} is not registered under subject {subject}; publishers only "
                        "look schemas up (EGOV_SCHEMA_AUTO_REGISTER is off): the operator registers them with "
                        "`egov-bus schemas register`", subject=subject, record=self.record_name,
                        status=exc.fields.get("status"), error_code=exc.fields.get("error_code"),
                    ) from exc
            self._ids[subject] = schema_id
            return schema_id

    def encode_body(self, value: Mapping[str, Any]) -> bytes:
        """Avro body only (no wire-format header)."""
        buf = io.BytesIO()
        try:
            fastavro.schemaless_writer(buf, self._parsed, value)
        except Exception as exc:
            raise AvroEncodeError(
                f"{self.record_name}: value does not fit the schema: {type(exc).__name__}: {exc}",
                record_name=self.record_name,
            ) from exc
        return buf.getvalue()

    def __call__(self, value: Mapping[str, Any], topic: str) -> bytes:
        return pack_header(self.schema_id(topic)) + self.encode_body(value)


_WIRE_LOGICAL_TYPES = frozenset({"timestamp-millis", "uuid"})


def _without_time_types(schema: Any) -> Any:
    """``schema`` with its ``timestamp-millis`` and ``uuid`` logical types removed (their wire types stay)."""
    if isinstance(schema, dict):
        return {
            k: _without_time_types(v)
            for k, v in schema.items()
            if not (k == "logicalType" and v in _WIRE_LOGICAL_TYPES)
        }
    if isinstance(schema, list):
        return [_without_time_types(x) for x in schema]
    return schema


class DecodedValue(NamedTuple):
    """A decoded wire-format value."""

    schema_id: int
    record_name: str
    value: dict[str, Any]


class AvroDeserializer:
    """Decode Confluent wire-format Avro values, whatever their schema id.

    Writer schemas are fetched from the registry once per id and cached;
    :meth:`warm` pre-fetches them so that the hot path never blocks on the
    registry. ``reader_schemas`` (by record full name) resolve old writers to
    the current shape. ``wire_times=True`` leaves ``timestamp-millis`` values
    as epoch-millisecond ints and ``uuid`` values as strings.
    """

    def __init__(
        self,
        registry: SchemaRegistryClient,
        *,
        reader_schemas: Mapping[str, Mapping[str, Any]] | None = None,
        wire_times: bool = False,
    ) -> None:
        self._registry = registry
        # wire_times: ``timestamp-millis`` as the epoch-millisecond int and ``uuid`` as the string
        # that are on the wire, without building datetime and UUID objects (half of the decode
        # time of a typical event); decimals and dates are still converted.
        self._wire_times = wire_times
        self._readers = {name: fastavro.parse_schema(dict(s)) for name, s in (reader_schemas or {}).items()}
        self._writers: dict[int, tuple[dict[str, Any], dict[str, Any] | None, str]] = {}
        self._unknown: dict[int, float] = {}
        self._lock = threading.Lock()

    def warm(self, schema_ids: Iterable[int]) -> None:
        """Fetch and cache the given writer schemas now."""
        for schema_id in schema_ids:
            self._writer(schema_id)

    def known_schema_ids(self) -> list[int]:
        return sorted(self._writers)

    def is_cached(self, schema_id: int) -> bool:
        """True when decoding ``schema_id`` needs no registry call (async callers check first)."""
        return schema_id in self._writers

    def _writer(self, schema_id: int) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
        entry = self._writers.get(schema_id)
        if entry is not None:
            return entry
        with self._lock:
            entry = self._writers.get(schema_id)
            if entry is not None:
                return entry
            seen_unknown = self._unknown.get(schema_id)
            if seen_unknown is not None and time.monotonic() - seen_unknown < _NEGATIVE_CACHE_S:
                raise UnknownSchemaError(f"schema id {schema_id} is not in the registry", schema_id=schema_id)
            try:
                schema = registry_call(
                    f"fetching schema id {schema_id}", lambda: self._registry.get_schema(schema_id), schema_id=schema_id
                )
            except UnknownSchemaError:
                self._unknown[schema_id] = time.monotonic()
                raise UnknownSchemaError(
                    f"schema id {schema_id} is not in the registry", schema_id=schema_id
                ) from None
            if schema.schema_type not in (None, "AVRO"):
                raise AvroDecodeError(
                    f"schema id {schema_id} is a {schema.schema_type} schema, not Avro", schema_id=schema_id
                )
            raw = json.loads(schema.schema_str)
            writer = fastavro.parse_schema(_without_time_types(raw) if self._wire_times else raw)
            name = writer.get("name", "")
            entry = (writer, self._readers.get(name), name)
            self._writers[schema_id] = entry
            return entry

    def __call__(self, data: bytes | None, topic: str | None = None) -> DecodedValue:
        schema_id = unpack_header(data)
        writer, reader, name = self._writer(schema_id)
        assert data is not None
        buf = io.BytesIO(data)
        buf.seek(HEADER_SIZE)
        try:
            value = fastavro.schemaless_reader(buf, writer, reader)
        except (EOFError, StopIteration, IndexError) as exc:
            raise TruncatedPayloadError(
                f"Avro body of {name} (schema id {schema_id}) ended early: {len(data) - HEADER_SIZE} bytes",
                schema_id=schema_id,
                record_name=name,
            ) from exc
        except Exception as exc:
            raise AvroDecodeError(
                f"Avro body of {name} (schema id {schema_id}) does not decode: {type(exc).__name__}: {exc}",
                schema_id=schema_id,
                record_name=name,
            ) from exc
        if buf.tell() != len(data):
            raise AvroDecodeError(
                f"Avro body of {name} (schema id {schema_id}) has {len(data) - buf.tell()} trailing bytes",
                schema_id=schema_id,
                record_name=name,
            )
        return DecodedValue(schema_id, name, value)
