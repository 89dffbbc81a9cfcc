"""CloudEvents 1.0 Kafka protocol binding, binary mode: the headers of every record.

The Avro value is the event data; the attributes travel as headers::

    ce_id           envelope.event_id
    ce_source       /id/go/<region_code>/<source_system>
    ce_type         id.go.egov.<theme>.<EventName>.v1
    ce_time         envelope.occurred_at, RFC 3339 UTC with milliseconds
    ce_specversion  1.0
    content-type    application/avro   (the binding maps datacontenttype to this header)
    traceparent     W3C trace context: 00-<trace id>-<span id>-01

Routing reads these and never needs to decode the value. This is a small
helper rather than the ``cloudevents`` SDK: the SDK builds whole messages
around its own event object and data marshaller, while here the value is
already Confluent-framed Avro and only the headers are wanted.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from schemas.avro_files import NAMESPACE_ROOT
from schemas.base import EventModel
from schemas.event_types import EventType, by_ce_type, event_type as _lookup_event_type
from schemas.exceptions import CloudEventHeaderError, SchemaError
from schemas.models import Envelope

SPECVERSION = "1.0"
CONTENT_TYPE = "application/avro"
HEADER_ID = "ce_id"
HEADER_SOURCE = "ce_source"
HEADER_TYPE = "ce_type"
HEADER_TIME = "ce_time"
HEADER_SPECVERSION = "ce_specversion"
HEADER_CONTENT_TYPE = "content-type"
HEADER_TRACEPARENT = "traceparent"
REQUIRED = (HEADER_ID, HEADER_SOURCE, HEADER_TYPE, HEADER_TIME, HEADER_SPECVERSION, HEADER_CONTENT_TYPE)
#: Every header this binding writes, in the order it writes them.
HEADER_NAMES = REQUIRED + (HEADER_TRACEPARENT,)

_REGION_PART = r"\d{2}(?:\.\d{2})?"
_SYSTEM_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
#: ``ce_source`` as a plain regular expression: no named groups, so JSON Schema (the AsyncAPI
#: export) reads it as Python does.
SOURCE_PATTERN = rf"/id/go/{_REGION_PART}/{_SYSTEM_PART}"
_SOURCE = re.compile(rf"/id/go/(?P<region>{_REGION_PART})/(?P<system>{_SYSTEM_PART})")
_CE_TYPE = re.compile(
    re.escape(NAMESPACE_ROOT) + r"\.(?P<theme>[a-z]+)\.(?P<name>[A-Z][A-Za-z0-9]*)\.v(?P<version>[1-9][0-9]*)"
)
_TRACEPARENT = re.compile(r"00-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
# The two headers whose value never changes, as ready-made pairs (the SDK's hot path builds
# a header list per event).
_SPECVERSION_PAIR = (HEADER_SPECVERSION, SPECVERSION)
_CONTENT_TYPE_PAIR = (HEADER_CONTENT_TYPE, CONTENT_TYPE)


def ce_source(region_code: str, source_system: str) -> str:
    """``/id/go/<region_code>/<source_system>``."""
    return f"/id/go/{region_code}/{source_system}"


def parse_ce_type(ce_type: str) -> tuple[str, str, int] | None:
    """``id.go.egov.<theme>.<EventName>.v<N>`` -> ``(theme, EventName, N)``; None when not of that shape.

    The shape only: whether the event type exists is :func:`schemas.by_ce_type`'s question.
    """
    match = _CE_TYPE.fullmatch(ce_type)
    if match is None:
        return None
    return match.group("theme"), match.group("name"), int(match.group("version"))


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and ``Z`` (``2025-03-14T02:30:00.000Z``): the ``ce_time`` value."""
    if value.tzinfo is None:
        raise CloudEventHeaderError("ce_time needs a timezone-aware time", header=HEADER_TIME, rule="tz_aware")
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_EPOCH_DAYS = date(1970, 1, 1).toordinal()
# Pieces of format_time_ms, cached: unix day -> "YYYY-MM-DDT", second of day -> "HH:MM:SS".
_DAYS: dict[int, str] = {}
_HMS: dict[int, str] = {}
_MILLI_SUFFIX = [f".{milli:03d}Z" for milli in range(1000)]


def format_time_ms(ms: int) -> str:
    """:func:`format_time` of Unix milliseconds (``2025-03-01T08:15:00.123Z``), from cached pieces.

    The SDK's hot path: the same text as ``format_time`` at a fraction of the cost (no datetime,
    no strftime).
    """
    day, ms_of_day = divmod(ms, 86_400_000)
    prefix = _DAYS.get(day)
    if prefix is None:
        if len(_DAYS) > 4096:
            _DAYS.clear()
        prefix = _DAYS[day] = date.fromordinal(_EPOCH_DAYS + day).isoformat() + "T"
    second, milli = divmod(ms_of_day, 1000)
    hms = _HMS.get(second)
    if hms is None:
        minutes, sec = divmod(second, 60)
        hms = _HMS[second] = f"{minutes // 60:02d}:{minutes % 60:02d}:{sec:02d}"  # at most 86,400 entries
    return prefix + hms + _MILLI_SUFFIX[milli]


def new_trace_id() -> str:
    """A random W3C trace id (32 lower-case hex characters, not all zero)."""
    return secrets.token_hex(16)


def traceparent_for(event_id: str) -> str:
    """A W3C ``traceparent`` rooted at the event: trace id = the event id's 32 hex digits.

    The span id starts with a letter: 16 hex characters that happened to be all digits would
    look like a NIK to anyone scanning the bus for one (1 event in ~2,000 otherwise).
    """
    hex_id = event_id.replace("-", "")
    return f"00-{hex_id}-e{hex_id[17:]}-01"


def is_valid_traceparent(value: str) -> bool:
    """Whether ``value`` is a W3C ``traceparent`` (version 00) a caller may ask the bus to continue.

    The trace id and the span id must not be all zero (W3C Trace Context, section 3.2.2).
    """
    match = _TRACEPARENT.fullmatch(value)
    return bool(match) and set(match.group("trace")) != {"0"} and set(match.group("span")) != {"0"}


def _traceparent(trace_id: str | None) -> str:
    if trace_id is None:
        trace_id = new_trace_id()
    if _TRACEPARENT.fullmatch(trace_id):
        return trace_id  # already a full traceparent: keep the caller's span
    if not _TRACE_ID.fullmatch(trace_id) or set(trace_id) == {"0"}:
        raise CloudEventHeaderError(
            f"trace id must be 32 lower-case hex characters (not all zero) or a W3C traceparent, got {trace_id!r}",
            header=HEADER_TRACEPARENT,
            rule="trace_id",
        )
    # A span id starting with a hex letter, for the reason given in traceparent_for.
    span_id = secrets.choice("abcdef") + secrets.token_hex(8)[1:]
    return f"00-{trace_id}-{span_id}-01"


def binary_headers(
    event_id: str, source: str, ce_type: str, time: str, traceparent: str | None = None
) -> list[tuple[str, str]]:
    """The binary-mode headers, in :data:`HEADER_NAMES` order, values as text.

    Values are taken as given (``time`` already formatted by :func:`format_time` or
    :func:`format_time_ms`), without checks: the one place that lays the headers out,
    for :func:`build_headers` and the SDK's hot path alike. confluent-kafka's
    ``produce`` encodes ``str`` values as UTF-8.
    """
    if traceparent is None:
        return [(HEADER_ID, event_id), (HEADER_SOURCE, source), (HEADER_TYPE, ce_type), (HEADER_TIME, time),
                _SPECVERSION_PAIR, _CONTENT_TYPE_PAIR]
    return [(HEADER_ID, event_id), (HEADER_SOURCE, source), (HEADER_TYPE, ce_type), (HEADER_TIME, time),
            _SPECVERSION_PAIR, _CONTENT_TYPE_PAIR, (HEADER_TRACEPARENT, traceparent)]


def header_value(headers: Iterable[tuple[str, Any]] | None, name: str) -> Any:
    """The value of the first header called ``name`` (bytes as consumed), None when absent."""
    for key, value in headers or ():
        if key == name:
            return value
    return None


def header_text(headers: Iterable[tuple[str, Any]] | None, name: str) -> str | None:
    """:func:`header_value` as text (the binding's values are UTF-8), None when absent."""
    value = header_value(headers, name)
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value


@dataclass(frozen=True)
class CloudEventHeaders:
    """The CloudEvents attributes of one Kafka record, parsed and checked."""

    id: str
    source: str
    type: str
    time: datetime
    specversion: str
    content_type: str
    traceparent: str | None = None

    @property
    def region_code(self) -> str:
        """Region code part of ``ce_source`` (format-checked, not checked against the current list)."""
        return _SOURCE.fullmatch(self.source).group("region")  # type: ignore[union-attr]

    @property
    def source_system(self) -> str:
        return _SOURCE.fullmatch(self.source).group("system")  # type: ignore[union-attr]

    @property
    def theme(self) -> str:
        return _CE_TYPE.fullmatch(self.type).group("theme")  # type: ignore[union-attr]

    @property
    def event_name(self) -> str:
        """Bare event type name from ``ce_type`` (``BudgetAllocated``)."""
        return _CE_TYPE.fullmatch(self.type).group("name")  # type: ignore[union-attr]

    @property
    def trace_id(self) -> str | None:
        if self.traceparent is None:
            return None
        return _TRACEPARENT.fullmatch(self.traceparent).group("trace")  # type: ignore[union-attr]

    def event_type(self) -> EventType:
        """The known :class:`EventType` of ``ce_type``; raises :class:`schemas.UnknownEventTypeError`."""
        return by_ce_type(self.type)

    def to_headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers (the form confluent-kafka's ``produce(headers=...)`` takes)."""
        out = binary_headers(self.id, self.source, self.type, format_time(self.time), self.traceparent)
        # What this record said (parse_headers(content_type=None) takes any content type).
        out[HEADER_NAMES.index(HEADER_SPECVERSION)] = (HEADER_SPECVERSION, self.specversion)
        out[HEADER_NAMES.index(HEADER_CONTENT_TYPE)] = (HEADER_CONTENT_TYPE, self.content_type)
        return [(k, v.encode("utf-8")) for k, v in out]


def build_headers(
    event: EventModel | Envelope | Mapping[str, Any],
    event_type: EventType | None = None,
    trace_id: str | None = None,
) -> list[tuple[str, bytes]]:
    """CloudEvents binary-mode headers for an event.

    ``event`` is an event model, its :class:`Envelope`, or an envelope as a
    dict (for instance the ``envelope`` of a decoded Avro record).
    ``event_type`` defaults to the one the envelope names. ``trace_id`` is a
    32-hex trace id or a whole W3C ``traceparent`` to continue; without it a
    new trace starts.
    """
    envelope: Any = event.envelope if isinstance(event, EventModel) else event
    if isinstance(envelope, Mapping):
        envelope = Envelope.model_validate(envelope)
    if not isinstance(envelope, Envelope):
        raise SchemaError(
            f"build_headers needs an event model, an Envelope or an envelope dict, got {type(event).__name__}",
            got=type(event).__name__,
        )
    if event_type is None:
        event_type = _lookup_event_type(envelope.event_type)
    if envelope.event_type != event_type.name:
        raise CloudEventHeaderError(
            f"envelope.event_type {envelope.event_type!r} does not match event type {event_type.name!r}",
            header=HEADER_TYPE,
            rule="event_type_matches_envelope",
        )
    return CloudEventHeaders(
        id=envelope.event_id,
        source=ce_source(envelope.region_code, envelope.source_system),
        type=event_type.ce_type,
        time=envelope.occurred_at,
        specversion=SPECVERSION,
        content_type=CONTENT_TYPE,
        traceparent=_traceparent(trace_id),
    ).to_headers()


def _fail(header: str, rule: str, message: str) -> CloudEventHeaderError:
    return CloudEventHeaderError(f"header {header}: {message} [rule: {rule}]", header=header, rule=rule)


def _decode(name: str, value: Any) -> str:
    if value is None:
        raise _fail(name, "present", "has no value")
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(name, "utf8", "is not UTF-8") from None
    if isinstance(value, str):
        return value
    raise _fail(name, "bytes", f"must be bytes or str, got {type(value).__name__}")


def parse_headers(
    headers: Iterable[tuple[str, Any]] | Mapping[str, Any] | None,
    *,
    content_type: str | None = CONTENT_TYPE,
) -> CloudEventHeaders:
    """Parse and check the CloudEvents headers of a consumed record.

    Raises :class:`CloudEventHeaderError` naming the header and rule when one
    is missing, repeated or malformed. ``content_type=None`` accepts any
    content type (the default insists on ``application/avro``). Headers other
    than the CloudEvents ones are ignored.
    """
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    found: dict[str, str] = {}
    for name, value in items:
        key = name.lower() if name.lower() == HEADER_CONTENT_TYPE else name
        if key in REQUIRED or key == HEADER_TRACEPARENT:
            if key in found:
                raise _fail(key, "single", "appears more than once")
            found[key] = _decode(key, value)
    missing = [h for h in REQUIRED if h not in found]
    if missing:
        raise _fail(missing[0], "present", "is missing" + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""))
    if found[HEADER_SPECVERSION] != SPECVERSION:
        raise _fail(HEADER_SPECVERSION, "specversion", f"must be {SPECVERSION!r}, got {found[HEADER_SPECVERSION]!r}")
    if not found[HEADER_ID]:
        raise _fail(HEADER_ID, "non_empty", "must not be empty")
    if not _SOURCE.fullmatch(found[HEADER_SOURCE]):
        raise _fail(HEADER_SOURCE, "ce_source", f"must look like /id/go/<region_code>/<source_system>, got {found[HEADER_SOURCE]!r}")
    if not _CE_TYPE.fullmatch(found[HEADER_TYPE]):
        raise _fail(HEADER_TYPE, "ce_type", f"must look like id.go.egov.<theme>.<EventName>.v<N>, got {found[HEADER_TYPE]!r}")
    try:
        time = datetime.fromisoformat(found[HEADER_TIME].replace("Z", "+00:00"))
    except ValueError:
        raise _fail(HEADER_TIME, "rfc3339", f"is not an RFC 3339 time: {found[HEADER_TIME]!r}") from None
    if time.tzinfo is None:
        raise _fail(HEADER_TIME, "rfc3339", f"has no UTC offset: {found[HEADER_TIME]!r}")
    if content_type is not None and found[HEADER_CONTENT_TYPE] != content_type:
        raise _fail(HEADER_CONTENT_TYPE, "content_type", f"must be {content_type!r}, got {found[HEADER_CONTENT_TYPE]!r}")
    traceparent = found.get(HEADER_TRACEPARENT)
    if traceparent is not None and not _TRACEPARENT.fullmatch(traceparent):
        raise _fail(HEADER_TRACEPARENT, "traceparent", f"is not a W3C traceparent: {traceparent!r}")
    return CloudEventHeaders(
        id=found[HEADER_ID],
        source=found[HEADER_SOURCE],
        type=found[HEADER_TYPE],
        time=time.astimezone(timezone.utc),
        specversion=found[HEADER_SPECVERSION],
        content_type=found[HEADER_CONTENT_TYPE],
        traceparent=traceparent,
    )


__all__ = [
    "SPECVERSION",
    "CONTENT_TYPE",
    "HEADER_ID",
    "HEADER_SOURCE",
    "HEADER_TYPE",
    "HEADER_TIME",
    "HEADER_SPECVERSION",
    "HEADER_CONTENT_TYPE",
    "HEADER_TRACEPARENT",
    "HEADER_NAMES",
    "REQUIRED",
    "SOURCE_PATTERN",
    "CloudEventHeaders",
    "CloudEventHeaderError",
    "binary_headers",
    "build_headers",
    "parse_headers",
    "header_value",
    "header_text",
    "ce_source",
    "parse_ce_type",
    "format_time",
    "format_time_ms",
    "traceparent_for",
    "new_trace_id",
    "SchemaError",
]
