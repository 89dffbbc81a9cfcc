"""The Avro binary pieces the SDK's codec writes and reads by hand (the B1 fast path).

fastavro writes an event's own fields; the envelope, identical in every event,
is written here from precomputed pieces (zig-zag varints, length-prefixed
strings), and read back from a wire-format value without its schema
(:func:`envelope_of`, for delivery reports that carry no headers). The bytes are
the Avro specification's; ``tests/adapters/sdk`` compares them with fastavro's.
"""

from __future__ import annotations

from typing import Any

from bus.serde import AvroEncodeError

#: The one-byte Avro ``long`` of 0..63.
SMALL_LONGS = [bytes([(n << 1) ^ (n >> 63)]) if -64 <= n < 64 else b"" for n in range(64)]
_SIX_BYTE_CONTINUATION = 0x8080808080


def long_bytes(n: int) -> bytes:
    """Avro ``long``: zig-zag, then base-128 varint (the 6-byte case, today's timestamps, unrolled)."""
    if 0 <= n < 64:
        return SMALL_LONGS[n]
    z = (n << 1) ^ (n >> 63)
    if 0x800000000 <= z < 0x40000000000:
        return (
            (z & 0x7F) | (z << 1 & 0x7F00) | (z << 2 & 0x7F0000) | (z << 3 & 0x7F000000)
            | (z << 4 & 0x7F00000000) | (z << 5 & 0x7F0000000000) | _SIX_BYTE_CONTINUATION
        ).to_bytes(6, "little")
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """The Avro ``long`` at ``pos``: ``(value, position after it)``."""
    shift = result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7


def read_string(data: bytes, pos: int) -> tuple[str, int]:
    """The Avro ``string`` at ``pos``: ``(text, position after it)``."""
    size, pos = read_long(data, pos)
    return data[pos : pos + size].decode(), pos + size


def envelope_of(value: bytes) -> tuple[str, str, str, int]:
    """``(event_id, region_code, source_system, occurred_at ms)`` from a wire-format value.

    The envelope is the first field of every event, so it is readable without the schema.
    """
    event_id, pos = read_string(value, 5)
    _event_type, pos = read_string(value, pos)
    region_code, pos = read_string(value, pos)
    source_system, pos = read_string(value, pos)
    occurred_ms, _pos = read_long(value, pos)
    return event_id, region_code, source_system, occurred_ms


def string_bytes(text: str) -> bytes:
    """Avro ``string``: length as a long, then UTF-8."""
    raw = text.encode()
    return long_bytes(len(raw)) + raw


_UUID_PREFIX = long_bytes(36)


def uuid_bytes(text: str) -> bytes:
    """An event id as an Avro ``string`` (the common 36-character case from a ready prefix)."""
    # A validated event id is the canonical 36-character form.
    return _UUID_PREFIX + text.encode() if len(text) == 36 else string_bytes(text)


CONTRACT_ENVELOPE = (
    ("event_id", "string"),
    ("event_type", "string"),
    ("region_code", "string"),
    ("source_system", "string"),
    ("occurred_at", "long"),
    ("produced_at", "long"),
    ("schema_version", "int"),
)


def is_contract_envelope(schema: Any) -> bool:
    """True when an envelope schema has exactly the contract's fields, in order (the hand-written path)."""
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return False
    shape = []
    for field in schema["fields"]:
        ftype = field["type"]
        shape.append((field["name"], ftype.get("type") if isinstance(ftype, dict) else ftype))
    return tuple(shape) == CONTRACT_ENVELOPE


def physical_schema(schema: Any) -> Any:
    """The schema without logical types: same bytes on the wire, no per-value conversion in fastavro."""
    if isinstance(schema, dict):
        return {k: physical_schema(v) for k, v in schema.items() if k not in ("logicalType", "precision", "scale")}
    if isinstance(schema, list):
        return [physical_schema(item) for item in schema]
    return schema



def logical_fields(schema: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, int, int], ...]]:
    """The event's own ``timestamp-millis``, ``date`` and ``(decimal, scale, precision)`` fields.

    Raises :class:`AvroEncodeError` for a shape the codec does not convert (nested
    records, maps, arrays of records, other logical types).
    """
    envelope = {f["name"]: f["type"] for f in schema["fields"][0]["type"]["fields"]}
    for name in ("occurred_at", "produced_at"):
        if not (isinstance(envelope.get(name), dict) and envelope[name].get("logicalType") == "timestamp-millis"):
            raise AvroEncodeError(f"{schema['name']}: envelope.{name} is not timestamp-millis")
    millis, dates, decimals = [], [], []
    for field in schema["fields"][1:]:
        ftype = field["type"]
        for t in ftype if isinstance(ftype, list) else [ftype]:
            if not isinstance(t, dict):
                continue
            if t.get("type") in ("record", "map") or (t.get("type") == "array" and isinstance(t.get("items"), dict)):
                # Nested structures would need a recursive conversion; none exists today.
                raise AvroEncodeError(f"{schema['name']}.{field['name']}: nested {t.get('type')} is not supported")
            logical = t.get("logicalType")
            if logical == "timestamp-millis":
                millis.append(field["name"])
            elif logical == "date":
                dates.append(field["name"])
            elif logical == "decimal" and t.get("type") == "bytes":
                decimals.append((field["name"], int(t.get("scale", 0)), int(t["precision"])))
            elif logical is not None and logical != "uuid":
                raise AvroEncodeError(f"{schema['name']}.{field['name']}: logical type {logical} is not supported")
    return tuple(millis), tuple(dates), tuple(decimals)
