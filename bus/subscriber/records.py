"""What a subscriber hands out, and how a consumed record becomes it.

:class:`RecordDecoder` turns a confluent-kafka ``Message`` of a theme topic into
a :class:`SubscribedEvent` (a typed, validated event) or an :class:`Undecodable`
(the record and the typed reason). It needs no consumer, so it is tested
without a broker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bus.errors import EgovBusError
from bus.serde import AvroDeserializer, RegistryError, SerdeError, UnknownSchemaError
from bus.subscriber.exceptions import ForeignRecordError, TransientDecodeError
from schemas import EventType, by_record_name
from schemas.base import EventModel
from schemas.exceptions import SchemaError


@dataclass(frozen=True)
class SubscribedEvent:
    """One typed event as read from a theme topic."""

    #: The pydantic model of the event (``schemas.models.<EventType>``).
    event: EventModel
    #: Bare event type name, e.g. ``"BudgetAllocated"``.
    event_type: str
    theme: str
    #: The record key: the publishing region's code.
    key: str | None
    headers: dict[str, bytes | None]
    topic: str
    partition: int
    offset: int
    #: The broker timestamp of the record (what ``from_time`` compares with), UTC.
    timestamp: datetime | None
    schema_id: int = field(default=0, compare=False)

    @property
    def region_code(self) -> str:
        """``event.envelope.region_code`` (equal to the key for records published by egov-bus)."""
        return self.event.region_code

    def header(self, name: str) -> str | None:
        """A header as text (CloudEvents headers are UTF-8), None when absent."""
        value = self.headers.get(name)
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Undecodable:
    """A record of a theme topic that is not a valid event, with the reason."""

    theme: str
    key: str | None
    headers: dict[str, bytes | None]
    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    raw_value: bytes | None
    #: The typed error (a ``SerdeError`` or ``SchemaError`` subclass).
    error: EgovBusError

    @property
    def reason(self) -> str:
        return str(self.error)

    @property
    def error_class(self) -> str:
        return type(self.error).__name__


Item = SubscribedEvent | Undecodable


def broker_time(msg: Any) -> datetime | None:
    """The record's broker timestamp as a UTC datetime; None when the record has none."""
    ts_type, ts = msg.timestamp()
    if not ts_type or ts < 0:
        return None
    return datetime.fromtimestamp(ts / 1000, tz=timezone.utc)


class RecordDecoder:
    """Decodes records of the subscribed topics (``topics``: topic name -> theme; None for a
    routed feed, whose records may be of any theme).

    Reader schemas (the current ones of each subscribed event type) resolve
    records written with an older schema to the current shape.
    """

    def __init__(self, registry: Any, topics: Mapping[str, str | None],
                 event_types: Mapping[str, list[EventType]]) -> None:
        self.topics = dict(topics)
        readers = {et.record_name: et.avro_schema for ets in event_types.values() for et in ets}
        self._decode = AvroDeserializer(registry, reader_schemas=readers)

    def __call__(self, msg: Any) -> Item:
        """The event of ``msg``, or why it is not one.

        Raises :class:`TransientDecodeError` (and decodes nothing) when the registry
        cannot be asked now: the record may well be fine and must not be skipped.
        """
        topic = msg.topic()
        theme = self.topics[topic]
        raw_key = msg.key()
        key = raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else raw_key
        common = dict(
            # A feed's undecodable record has no theme to tell: it is counted under "feed".
            theme=theme or "feed", key=key, headers=dict(msg.headers() or ()), topic=topic, partition=msg.partition(),
            offset=msg.offset(), timestamp=broker_time(msg),
        )
        try:
            decoded = self._decode(msg.value(), topic)
            et = by_record_name(decoded.record_name)
            if theme is None:  # a routed feed: the record's own theme
                theme = common["theme"] = et.theme
            elif et.theme != theme:
                raise ForeignRecordError(
                    f"record {decoded.record_name} belongs to theme {et.theme!r}, not to topic {topic}",
                    record_name=decoded.record_name,
                )
            event = et.model.from_avro(decoded.value)
        except UnknownSchemaError as exc:
            return Undecodable(raw_value=msg.value(), error=exc, **common)
        except RegistryError as exc:
            # Registry unreachable or failing: the record may well be fine, do not skip it.
            raise TransientDecodeError(
                f"cannot decode {topic}[{msg.partition()}]@{msg.offset()} now: {exc}",
                topic=topic, partition=msg.partition(), offset=msg.offset(),
            ) from exc
        except (SerdeError, SchemaError, ForeignRecordError) as exc:
            return Undecodable(raw_value=msg.value(), error=exc, **common)
        return SubscribedEvent(event=event, event_type=et.name, schema_id=decoded.schema_id, **common)
