"""The registry of event types: one :class:`EventType` per ``.avsc`` event file.

Naming (the contract): event type ``BudgetAllocated`` of theme ``budgeting`` is
the Avro record ``id.go.egov.budgeting.BudgetAllocated``, travels on
``egov.budgeting.events`` (dead letters on ``egov.budgeting.dlq``) and carries
the CloudEvents type ``id.go.egov.budgeting.BudgetAllocated.v1``. Topic names
are built by :mod:`schemas.topic_names` (``theme_topic`` and ``dlq_topic`` are
re-exported here for ``schemas.theme_topic``); registry subject names by
:func:`bus.serde.topic_record_name_strategy`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import fastavro

from schemas import models
from schemas.avro_files import AVRO_DIR, NAMESPACE_ROOT, common_types, event_files, expand, full_name, load_avsc
from schemas.base import EventModel
from schemas.exceptions import SchemaDefinitionError, UnknownEventTypeError
from schemas.topic_names import dlq_topic, theme_topic

#: The 15 theme slugs, in THEMES.md order.
THEMES: tuple[str, ...] = (
    "planning",
    "budgeting",
    "treasury",
    "procurement",
    "personnel",
    "archives",
    "assets",
    "oversight",
    "accountability",
    "appraisal",
    "complaints",
    "opendata",
    "licensing",
    "population",
    "revenue",
)

#: Version suffix of the CloudEvents type; bumped only for a breaking contract change.
CE_TYPE_VERSION = "v1"


@dataclass(frozen=True)
class EventType:
    """Everything the bus knows about one event type."""

    name: str
    theme: str
    record_name: str
    topic: str
    dlq_topic: str
    ce_type: str
    #: Fully expanded Avro schema (shared types inlined), ready for fastavro and the registry.
    avro_schema: dict[str, Any] = field(compare=False, hash=False, repr=False)
    #: The generated pydantic model class.
    model: type[EventModel] = field(compare=False, repr=False)
    doc: str = field(default="", compare=False, repr=False)

    @functools.cached_property
    def parsed_schema(self) -> dict[str, Any]:
        """The schema parsed by fastavro (parse once, reuse)."""
        return fastavro.parse_schema(self.avro_schema)


def _load() -> dict[str, EventType]:
    named = common_types(AVRO_DIR)
    out: dict[str, EventType] = {}
    for theme, path in event_files(AVRO_DIR):
        if theme not in THEMES:
            raise SchemaDefinitionError(f"{path}: {theme!r} is not one of the 15 themes", path=str(path))
        schema = load_avsc(path)
        name = schema["name"]
        record_name = full_name(schema)
        if name != path.stem or record_name != f"{NAMESPACE_ROOT}.{theme}.{name}":
            raise SchemaDefinitionError(
                f"{path}: must define {NAMESPACE_ROOT}.{theme}.{path.stem}, defines {record_name}", path=str(path)
            )
        first = (schema.get("fields") or [{}])[0]
        if first.get("name") != "envelope" or first.get("type") != f"{NAMESPACE_ROOT}.common.Envelope":
            raise SchemaDefinitionError(
                f"{path}: the first field must be envelope of type {NAMESPACE_ROOT}.common.Envelope", path=str(path)
            )
        if name in out:
            raise SchemaDefinitionError(f"{path}: event type {name} is also defined in theme {out[name].theme}")
        model = getattr(models, name, None)
        if model is None:
            raise SchemaDefinitionError(f"{path}: no generated model {name}; run python -m schemas.codegen")
        out[name] = EventType(
            name=name,
            theme=theme,
            record_name=record_name,
            topic=theme_topic(theme),
            dlq_topic=dlq_topic(theme),
            ce_type=f"{record_name}.{CE_TYPE_VERSION}",
            avro_schema=expand(schema, named),
            model=model,
            doc=schema.get("doc", ""),
        )
    return out


#: Every event type by bare name (``"BudgetAllocated"``), themes in THEMES order.
EVENT_TYPES: dict[str, EventType] = dict(
    sorted(_load().items(), key=lambda kv: (THEMES.index(kv[1].theme), kv[0]))
)
_BY_RECORD = {et.record_name: et for et in EVENT_TYPES.values()}
_BY_CE_TYPE = {et.ce_type: et for et in EVENT_TYPES.values()}


def event_type(name: str) -> EventType:
    """The event type named ``name`` (bare name, record full name or CloudEvents type)."""
    et = EVENT_TYPES.get(name) or _BY_RECORD.get(name) or _BY_CE_TYPE.get(name)
    if et is None:
        raise UnknownEventTypeError(f"unknown event type {name!r}", event_type=name)
    return et


def by_record_name(record_name: str) -> EventType:
    """The event type of an Avro record full name (what a deserializer reports)."""
    et = _BY_RECORD.get(record_name)
    if et is None:
        raise UnknownEventTypeError(f"unknown Avro record {record_name!r}", record_name=record_name)
    return et


def by_ce_type(ce_type: str) -> EventType:
    """The event type of a CloudEvents ``ce_type`` header value."""
    et = _BY_CE_TYPE.get(ce_type)
    if et is None:
        raise UnknownEventTypeError(f"unknown CloudEvents type {ce_type!r}", ce_type=ce_type)
    return et


def events_of_theme(theme: str) -> list[EventType]:
    """The event types of one theme."""
    if theme not in THEMES:
        raise UnknownEventTypeError(f"unknown theme {theme!r}", theme=theme)
    return [et for et in EVENT_TYPES.values() if et.theme == theme]
