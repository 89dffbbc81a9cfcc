"""Per-event-type encoding: Avro value in the Confluent wire format, key and CloudEvents headers.

One :class:`EventCodec` per event type, built once (schema parsed, registry id
fetched, constant headers prepared) so that encoding an event is a handful of
dict operations plus fastavro's ``schemaless_writer``.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import fastavro
import fastavro._write

from adapters.metrics import ACKED, FAILED, PUBLISHED, SPOOLED
from adapters.privacy.exceptions import RawNikError
from adapters.sdk.avro_bytes import (  # the hand-written Avro pieces, under the names the codec uses
    SMALL_LONGS as _SMALL_LONGS,
    envelope_of,
    is_contract_envelope as _is_contract_envelope,
    logical_fields as _logical_fields,
    long_bytes as _long_bytes,
    physical_schema,
    string_bytes as _string_bytes,
    uuid_bytes as _uuid_bytes,
)
from bus.serde import AvroEncodeError, AvroSerializer, pack_header
from schemas import EventType
from schemas.privacy import RAW_NIK_RULE, find_raw_nik, may_hold_raw_nik, raw_nik_message
# The CloudEvents headers (names, layout, ce_time and traceparent) are schemas.cloudevents';
# the codec writes them without per-event validation on the hot path. ce_time, CE_SPECVERSION
# and rfc3339_millis keep their names here for the SDK's callers.
from schemas.cloudevents import CONTENT_TYPE, binary_headers, ce_source, traceparent_for  # noqa: F401
from schemas.cloudevents import SPECVERSION as CE_SPECVERSION  # noqa: F401
from schemas.cloudevents import format_time as ce_time
from schemas.cloudevents import format_time_ms as rfc3339_millis


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)
_EPOCH_DAYS = date(1970, 1, 1).toordinal()
_WRITE_OPTIONS = {"strict": False, "strict_allow_default": False, "disable_tuple_notation": False}
if getattr(fastavro._write, "CYTHON_MODULE", 0):
    # fastavro's compiled encoder entry point below schemaless_writer: same code, no per-call setup.
    _write_data = fastavro._write.write_data
else:  # pure-Python fastavro: go through the public API

    def _write_data(buf: bytearray, record: Any, schema: Any, named: Any, fname: str, options: Any) -> None:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, record)
        buf += out.getvalue()


class EventCodec:
    """Encodes events of one type for one topic.

    Hot-path notes (see docs/benchmarks.md, B1): the model is already
    validated, so the record is taken from its ``__dict__``; logical types
    (timestamps, decimals, dates) are converted here by precomputed field lists
    and written with a schema stripped of logical types, which gives the same
    bytes as fastavro's generic per-value conversion at a fraction of the cost.
    """

    __slots__ = (
        "event_type",
        "topic",
        "theme",
        "model",
        "serializer",
        "parsed",
        "header",
        "ce_type",
        "acked",
        "spooled",
        "failed",
        "unsettled",
        "failed_unsettled",
        "wire_key",
        "_physical",
        "_body",
        "_converts",
        "_event_type_bytes",
        "_pairs",
        "_last_produced",
        "_named",
        "_millis",
        "_dates",
        "_decimals",
        "_sources",
    )

    def __init__(self, event_type: EventType, serializer: AvroSerializer, topic: str) -> None:
        self.event_type = event_type
        self.topic = topic
        self.theme = event_type.theme
        self.model = event_type.model
        self.serializer = serializer
        self.parsed = serializer.parsed_schema
        # Registers or looks up the schema now: a registry problem shows at the first
        # event of a type, never in the middle of a batch.
        self.header = pack_header(serializer.schema_id(topic))
        self.ce_type = event_type.ce_type
        schema = event_type.avro_schema
        physical = physical_schema(copy.deepcopy(schema))
        self._named: dict[str, Any] = {}
        self._physical = fastavro.parse_schema(physical, self._named)
        self._millis, self._dates, decimals = _logical_fields(schema)
        # (field, 10**scale, 10**precision): the unscaled integer must stay below the limit.
        self._decimals = tuple((name, 10**scale, 10**precision) for name, scale, precision in decimals)
        self._converts = bool(self._millis or self._dates or self._decimals)
        # The envelope is written by hand when it has exactly the contract's shape; fastavro
        # then writes the rest (it ignores the extra "envelope" key of the model's fields).
        self._body: dict[str, Any] | None = None
        if _is_contract_envelope(schema["fields"][0]["type"]):
            body = {**physical, "fields": physical["fields"][1:]}
            self._body = fastavro.parse_schema(body, self._named)
        self._event_type_bytes = _string_bytes(event_type.name)
        self._pairs: dict[tuple[str, str], tuple[bytes, str, bytes]] = {}
        self._last_produced: tuple[Any, bytes] = (None, b"")
        self.acked = PUBLISHED.labels(self.theme, ACKED)
        self.spooled = PUBLISHED.labels(self.theme, SPOOLED)
        self.failed = PUBLISHED.labels(self.theme, FAILED)
        # Produced, not yet counted as acknowledged (only-failures reporting; see Publisher).
        self.unsettled = 0
        self.failed_unsettled = 0
        # (topic, wire header): finds the codec of a record coming back in a failure report.
        self.wire_key = (topic, self.header)
        self._sources: dict[tuple[str, str], str] = {}

    def to_avro(self, event: Any) -> dict[str, Any]:
        """The fastavro-ready record of a validated (frozen) model (``event.to_avro()`` equivalent)."""
        record = dict(event.__dict__)
        record["envelope"] = record["envelope"].__dict__
        return record

    def encode_event(self, event: Any) -> bytes:
        """Wire-format value of a validated model: magic byte, schema id, Avro body."""
        return self.encode_record(event)[1]

    def encode_record(self, event: Any, traceparent: str | None = None) -> tuple[bytes, bytes, list[tuple[str, str]]]:
        """``(key, value, headers)`` of a validated model, ready for ``produce``.

        The envelope (fixed by the contract) is written by :func:`_envelope_bytes`;
        the event's own fields by fastavro with the physical body schema. Raises
        :class:`RawNikError` when a string field holds what looks like a raw
        NIK (:mod:`schemas.privacy`), :class:`AvroEncodeError` when a value does not fit.
        """
        fields = event.__dict__
        envelope = fields["envelope"].__dict__
        event_id = envelope["event_id"]
        region_code = envelope["region_code"]
        source_system = envelope["source_system"]
        occurred_ms = (envelope["occurred_at"] - _EPOCH) // _MS
        pair = self._pairs.get((region_code, source_system))
        if pair is None:
            pair = self._pair(region_code, source_system)
        if self._body is None:  # an envelope this fast path does not know: the generic route
            value = self._encode_generic(event)
        else:
            record = self._body_record(fields) if self._converts else fields
            buf = bytearray(self.header)
            buf += _uuid_bytes(event_id)
            buf += self._event_type_bytes
            buf += pair[0]
            buf += _long_bytes(occurred_ms)
            produced = envelope["produced_at"]
            if produced != self._last_produced[0]:
                # Events built in one burst share produced_at (milliseconds): encode it once.
                self._last_produced = (produced, _long_bytes((produced - _EPOCH) // _MS))
            buf += self._last_produced[1]
            version = envelope["schema_version"]
            buf += _SMALL_LONGS[version] if version.__class__ is int and 0 <= version < 64 else _long_bytes(version)
            try:
                _write_data(buf, record, self._body, self._named, "", _WRITE_OPTIONS)
            except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
                raise AvroEncodeError(
                    f"{self.event_type.name}: value does not fit the schema: {type(exc).__name__}: {exc}",
                    event_type=self.event_type.name,
                ) from exc
            value = bytes(buf)
        # The byte pre-filter (two C passes over the value); the field-by-field check only runs
        # on a hit (a 64-hex pseudonym contains 16 digits in a row now and then).
        if may_hold_raw_nik(value):
            self.check_no_raw_nik(fields)
        if traceparent is None:
            traceparent = traceparent_for(event_id)
        return pair[2], value, binary_headers(event_id, pair[1], self.ce_type, rfc3339_millis(occurred_ms), traceparent)

    def headers_from_value(self, value: bytes) -> list[tuple[str, str]]:
        """The headers of a record rebuilt from its value: delivery reports do not carry headers.

        A caller-supplied ``traceparent`` is not in the value; the rebuilt one is derived from
        the event id like the default.
        """
        event_id, region_code, source_system, occurred_ms = envelope_of(value)
        return binary_headers(
            event_id, ce_source(region_code, source_system), self.ce_type, rfc3339_millis(occurred_ms),
            traceparent_for(event_id),
        )

    def _pair(self, region_code: str, source_system: str) -> tuple[bytes, str, bytes]:
        # Envelope bytes of (region_code, source_system), their ce_source, the record key.
        if len(self._pairs) > 10_000:
            self._pairs.clear()
        pair = self._pairs[(region_code, source_system)] = (
            _string_bytes(region_code) + _string_bytes(source_system),
            ce_source(region_code, source_system),
            region_code.encode(),
        )
        return pair

    def _body_record(self, fields: dict[str, Any]) -> dict[str, Any]:
        record = dict(fields)
        for name in self._millis:
            value = record[name]
            if value is not None:
                record[name] = (value - _EPOCH) // _MS
        for name in self._dates:
            value = record[name]
            if value is not None:
                record[name] = value.toordinal() - _EPOCH_DAYS
        for name, factor, limit in self._decimals:
            value = record[name]
            if value is not None:
                # Exact: the value must be a whole number of 10**-scale units.
                numerator, denominator = value.as_integer_ratio()
                if factor % denominator:
                    raise AvroEncodeError(
                        f"{self.event_type.name}.{name}: {value} has more decimal places than the schema", field=name
                    )
                unscaled = numerator * (factor // denominator)
                if -limit >= unscaled or unscaled >= limit:
                    raise AvroEncodeError(
                        f"{self.event_type.name}.{name}: {value} does not fit the schema's decimal", field=name
                    )
                record[name] = unscaled.to_bytes((unscaled.bit_length() + 8) // 8, "big", signed=True)
        return record

    def _encode_generic(self, event: Any) -> bytes:
        record = self._body_record(event.__dict__)
        envelope = dict(record["envelope"].__dict__)
        envelope["occurred_at"] = (envelope["occurred_at"] - _EPOCH) // _MS
        envelope["produced_at"] = (envelope["produced_at"] - _EPOCH) // _MS
        record["envelope"] = envelope
        buf = bytearray(self.header)
        try:
            _write_data(buf, record, self._physical, self._named, "", _WRITE_OPTIONS)
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            raise AvroEncodeError(
                f"{self.event_type.name}: value does not fit the schema: {type(exc).__name__}: {exc}",
                event_type=self.event_type.name,
            ) from exc
        return bytes(buf)

    def check_no_raw_nik(self, fields: dict[str, Any]) -> None:
        """Refuse an event with a raw-NIK-shaped string in any field, envelope included.

        The rule (:mod:`schemas.privacy`) is the central transform's, so an event
        this lets through is not refused there either.
        """
        found = find_raw_nik({**fields, "envelope": fields["envelope"].__dict__})
        if found is not None:
            raise RawNikError(
                raw_nik_message(found, f"{self.event_type.name}."),
                loc=found,
                rule=RAW_NIK_RULE,
                event_type=self.event_type.name,
            )

    def encode(self, record: dict[str, Any]) -> bytes:
        """Wire-format value of an Avro dict (logical values), through fastavro's own conversions."""
        buf = io.BytesIO()
        buf.write(self.header)
        fastavro.schemaless_writer(buf, self.parsed, record)
        return buf.getvalue()

    def source(self, region_code: str, source_system: str) -> str:
        key = (region_code, source_system)
        value = self._sources.get(key)
        if value is None:
            value = self._sources[key] = ce_source(region_code, source_system)
        return value

    def headers(self, envelope: Any, traceparent: str | None = None) -> list[tuple[str, str]]:
        """CloudEvents binary-mode headers plus ``traceparent``."""
        event_id = envelope.event_id
        return binary_headers(
            event_id, self.source(envelope.region_code, envelope.source_system), self.ce_type,
            ce_time(envelope.occurred_at), traceparent or traceparent_for(event_id),
        )


CodecFactory = Callable[[EventType], EventCodec]
