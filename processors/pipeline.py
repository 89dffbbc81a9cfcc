"""One event through the central pipeline: decode, transform, validate, dedupe,
route, aggregate. Synchronous and free of Faust, so the worker, the tests and
the benchmarks share it.

Nothing is dropped silently: every failure becomes a dead-letter record with
its stage and reason, and the caller carries on with the next event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import schemas
from bus.serde import AvroDeserializer, AvroSerializer, SerdeError, unpack_header
from processors import metrics
from processors.dlq import dlq_headers, dlq_topic_for
from processors.exceptions import ProcessorError
from processors.routing import RoutingRule, destinations
from processors.transform import current_region_code, refuse_raw_nik
from processors.views.aggregates import apply_event, render_row
from processors.views.avro import view_schema, view_topic

PROCESSOR = "pipeline"


@dataclass(slots=True)
class Outgoing:
    """A record the pipeline wants produced."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(slots=True)
class Result:
    outgoing: list[Outgoing] = field(default_factory=list)
    changed: set[tuple[str, str]] = field(default_factory=set)
    outcome: str = "ok"
    theme: str = "unknown"
    latency_from: dict[str, float] = field(default_factory=dict)


def _ms(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else value / 1000


class Pipeline:
    """The per-event logic; state lives in the mappings the caller passes in."""

    def __init__(
        self,
        registry: Any,
        rules: list[RoutingRule],
        theme_of_topic: dict[str, str],
        view_topic_name: Callable[[str], str] = view_topic,
    ) -> None:
        self.registry = registry
        self.deserializer = AvroDeserializer(registry)
        self.rules = rules
        self.theme_of_topic = theme_of_topic
        self._view_topic_name = view_topic_name
        self._event_serializers: dict[str, AvroSerializer] = {}
        self._view_serializers: dict[str, AvroSerializer] = {}

    # -- start-up ------------------------------------------------------------

    def warm(self) -> None:
        """Register/look up every event schema on its topic so decoding never waits on the registry."""
        for topic, theme in self.theme_of_topic.items():
            for et in schemas.events_of_theme(theme):
                ser = self._event_serializer(et)
                self.deserializer.warm([ser.schema_id(topic)])
        from processors.views.aggregates import VIEWS

        for view in VIEWS:
            self._view_serializer(view).schema_id(self._view_topic_name(view))

    def needs_schema(self, value: bytes | None) -> int | None:
        """The schema id to fetch (off the event loop) before :meth:`process`, if any."""
        try:
            schema_id = unpack_header(value)
        except SerdeError:
            return None
        return None if self.deserializer.is_cached(schema_id) else schema_id

    def _event_serializer(self, et: Any) -> AvroSerializer:
        ser = self._event_serializers.get(et.name)
        if ser is None:
            ser = self._event_serializers[et.name] = AvroSerializer(self.registry, et.avro_schema)
        return ser

    def _view_serializer(self, view: str) -> AvroSerializer:
        ser = self._view_serializers.get(view)
        if ser is None:
            ser = self._view_serializers[view] = AvroSerializer(self.registry, view_schema(view))
        return ser

    # -- per event -------------------------------------------------------------

    def _dead_letter(self, result: Result, topic: str, partition: int, offset: int, key, value, headers, stage: str, error: BaseException) -> Result:
        result.outgoing.append(
            Outgoing(
                dlq_topic_for(topic),
                key,
                value,
                dlq_headers(headers, stage=stage, error=error, topic=topic, partition=partition, offset=offset),
            )
        )
        result.outcome = "dlq"
        metrics.DLQ_EVENTS.labels(result.theme, stage).inc()
        return result

    def process(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None,
        views: MutableMapping[str, Any],
        seen: MutableMapping[str, Any],
    ) -> Result:
        headers = list(headers or [])
        theme = self.theme_of_topic.get(topic, "unknown")
        result = Result(theme=theme)
        try:
            decoded = self.deserializer(value, topic)
        except SerdeError as exc:
            return self._dead_letter(result, topic, partition, offset, key, value, headers, "decode", exc)
        record = decoded.value
        try:
            et = schemas.by_record_name(decoded.record_name)
            if et.theme != theme:
                raise ProcessorError(f"{et.name} belongs to theme {et.theme}, not to topic {topic}")
        except Exception as exc:
            return self._dead_letter(result, topic, partition, offset, key, value, headers, "validate", exc)

        # Transform: legacy codes are re-published under the current code (and key)
        # so that every event of a region lands in that region's partition.
        try:
            region = record["envelope"]["region_code"]
            current = current_region_code(region)
            if current != region:
                record["envelope"]["region_code"] = current
                fixed = self._event_serializer(et)(record, topic)
                result.outgoing.append(Outgoing(topic, current.encode(), fixed, headers))
                result.outcome = "transformed"
                return result
            refuse_raw_nik(record)
        except Exception as exc:
            return self._dead_letter(result, topic, partition, offset, key, value, headers, "transform", exc)

        try:
            et.model.from_avro(record)
        except Exception as exc:
            return self._dead_letter(result, topic, partition, offset, key, value, headers, "validate", exc)

        event_id = str(record["envelope"]["event_id"])
        if event_id in seen:
            result.outcome = "duplicate"
            return result
        try:
            changed = apply_event(views, theme, et.name, record)
        except Exception as exc:
            return self._dead_letter(result, topic, partition, offset, key, value, headers, "aggregate", exc)
        seen[event_id] = 1
        result.changed.update(changed)
        for destination in destinations(self.rules, theme, et.name, current):
            result.outgoing.append(Outgoing(destination, key, value, headers))
        result.latency_from = {
            "occurred_at": _ms(record["envelope"]["occurred_at"]),
            "produced_at": _ms(record["envelope"]["produced_at"]),
        }
        return result

    def view_records(self, changed: set[tuple[str, str]], views: MutableMapping[str, Any]) -> list[Outgoing]:
        """The view rows to publish for the keys a batch changed."""
        out = []
        for view, key in sorted(changed):
            row = render_row(view, key, views[f"{view}|{key}"])
            topic = self._view_topic_name(view)
            out.append(Outgoing(topic, key.encode(), self._view_serializer(view)(row, topic)))
            metrics.VIEW_UPDATES.labels(view).inc()
        return out

    @staticmethod
    def observe(result: Result) -> None:
        metrics.EVENTS_PROCESSED.labels(PROCESSOR, result.theme, result.outcome).inc()
        now = time.time()
        for since, ts in result.latency_from.items():
            metrics.E2E_LATENCY.labels(result.theme, since).observe(max(0.0, now - ts))
