"""The Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro body."""

from __future__ import annotations

import struct

from bus.serde.exceptions import WireFormatError

MAGIC_BYTE = 0
_HEADER = struct.Struct(">bI")
HEADER_SIZE = _HEADER.size


def pack_header(schema_id: int) -> bytes:
    """The 5-byte prefix for a value written with ``schema_id``."""
    return _HEADER.pack(MAGIC_BYTE, schema_id)


def unpack_header(data: bytes | memoryview | None) -> int:
    """Return the schema id of a wire-format value, or raise :class:`WireFormatError`."""
    if data is None:
        raise WireFormatError("value is null (a tombstone), not an Avro record", reason="null")
    if len(data) < HEADER_SIZE:
        raise WireFormatError(
            f"value has {len(data)} bytes, fewer than the 5-byte wire-format header",
            reason="too_short",
            length=len(data),
        )
    magic, schema_id = _HEADER.unpack_from(data, 0)
    if magic != MAGIC_BYTE:
        raise WireFormatError(
            f"unknown magic byte {magic & 0xFF:#04x}; expected 0x00 (Confluent wire format)",
            reason="magic_byte",
            magic_byte=magic & 0xFF,
        )
    return schema_id
