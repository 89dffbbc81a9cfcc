"""The contracts: Avro schemas (.avsc) per theme and event, the common envelope,
pydantic models generated from them, validation rules and CloudEvents headers.

``schemas`` is the bottom of the dependency graph: it imports no other
egov-bus package except the dependency-free ``bus.errors``.

Quick tour::

    from schemas import EVENT_TYPES, event_type
    from schemas.models import BudgetAllocated

    ev = BudgetAllocated.new(region_code="32.01", source_system="sipd",
                             occurred_at=datetime.now(timezone.utc), allocation_id="A-1",
                             fiscal_year=2025, agency_code="1.02.0.00.0.00.01.0000",
                             program_code="1.02.02", activity_code="1.02.02.2.01", amount="1500000.00")
    et = event_type("BudgetAllocated")   # .topic, .avro_schema, .ce_type, .model
    record = ev.to_avro()                 # fastavro-ready dict

Kafka headers follow the CloudEvents binding in binary mode:
:func:`build_headers` / :func:`parse_headers` (module :mod:`schemas.cloudevents`).

Every validation problem raises :class:`SchemaValidationError` listing each
field path and rule.
"""

from schemas.event_types import (
    CE_TYPE_VERSION,
    EVENT_TYPES,
    THEMES,
    EventType,
    by_ce_type,
    by_record_name,
    dlq_topic,
    event_type,
    events_of_theme,
    theme_topic,
)
from schemas.exceptions import (
    CloudEventHeaderError,
    SchemaDefinitionError,
    SchemaError,
    SchemaValidationError,
    UnknownEventTypeError,
)
from schemas.cloudevents import CloudEventHeaders, build_headers, parse_headers

__all__ = [
    "THEMES",
    "EVENT_TYPES",
    "CE_TYPE_VERSION",
    "EventType",
    "event_type",
    "by_record_name",
    "by_ce_type",
    "events_of_theme",
    "theme_topic",
    "dlq_topic",
    "SchemaError",
    "SchemaValidationError",
    "SchemaDefinitionError",
    "UnknownEventTypeError",
    "CloudEventHeaderError",
    "CloudEventHeaders",
    "build_headers",
    "parse_headers",
]
