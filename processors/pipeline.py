"""A batch of records through the central pipeline: decode, transform,
validate, dedupe, aggregate, route. Synchronous and free of Kafka clients,
so the worker, the tests and the benchmarks share it. Records are
confluent-kafka ``Message``s (or anything with the same ``value()``,
``key()``, ``headers()`` and ``offset()`` methods); state is one task's
:class:`~processors.state.store.TaskState` (a mapping in tests).

Per record, in order (the first failure sends the record to its theme's DLQ
with the stage and reason, and the batch goes on):

0. **verify** (stage ``verify``, when a :class:`~processors.verify.Verifier` is given): the
   record's signature, its key's region and validity (:mod:`processors.verify`);
1. **decode** (stage ``decode``): Confluent wire format, Avro through the
   registry serde of ``bus.serde`` (writer schemas warmed at start-up and
   cached; an unknown id is fetched once, in the loop's own thread);
2. **check** (stage ``validate``): the record is an event type of the topic's
   theme and the key is the envelope's region code (the key decides the
   partition, the partition holds the region's state);
3. **transform** (stage ``transform``): legacy Papua codes are re-published
   under the current code and key (the corrected copy comes back through
   this pipeline in the right partition); any value shaped like a raw NIK is
   refused;
4. **validate** (stage ``validate``): the event's pydantic model (current
   region code, field rules, cross-field rules);
5. **dedupe**: an ``event_id`` already seen in this partition within the
   de-duplication window changes nothing; an event produced longer ago than
   the window is applied and counted in ``egov_processor_late_events_total``
   (its first copy, if there was one, is no longer remembered);
6. **aggregate** (stage ``aggregate``): event-time buckets of the four views,
   all or nothing (:func:`~processors.views.aggregates.plan_event`);
7. **route**: the record's original bytes and headers to every routed topic
   whose rule matches its ``ce_type`` header and key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import schemas
from bus.serde import AvroDeserializer, AvroSerializer, SerdeError
from processors import metrics
from processors.dlq import dlq_headers
from processors.exceptions import ProcessorError
from processors.routing import Router
from processors.transform import current_region_code, refuse_raw_nik
from processors.verify import VerificationError, Verifier
from processors.views.aggregates import VIEWS, apply_event, render_row
from processors.views.avro import view_schema
from schemas.cloudevents import HEADER_SOURCE, ce_source
from schemas.topic_names import dlq_topic_for, view_topic
from schemas.privacy import may_hold_raw_nik
from schemas.signing import SIGNATURE_HEADERS, SigningKey, leaf_of

PROCESSOR = "pipeline"


@dataclass(slots=True)
class Outgoing:
    """A record the pipeline wants produced."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class TaskResult:
    """What one run over a task's records asks the worker to do."""

    outgoing: list[Outgoing] = field(default_factory=list)
    changed: set[tuple[str, str]] = field(default_factory=set)
    outcomes: Counter = field(default_factory=Counter)  # (theme, outcome) -> n
    latencies: list[tuple[str, float, float]] = field(default_factory=list)  # (theme, occurred s, produced s)
    events: int = 0

    def merge(self, other: "TaskResult") -> None:
        self.outgoing += other.outgoing
        self.changed |= other.changed
        self.outcomes.update(other.outcomes)
        self.latencies += other.latencies
        self.events += other.events


def _seconds(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else value / 1000


class Pipeline:
    """The per-record logic; state lives in the task state the caller passes in."""

    def __init__(
        self,
        registry: Any,
        router: Router,
        theme_of_topic: dict[str, str],
        view_topic_name: Callable[[str], str] = view_topic,
        dedupe_window_s: float = 7 * 86400.0,
        verifier: Verifier | None = None,
        centre_key: SigningKey | None = None,
    ) -> None:
        self.dedupe_window_s = dedupe_window_s
        #: Checks each record's proof of origin first (stage ``verify``); None: records are not verified.
        self.verifier = verifier
        #: Signs the corrected copies of legacy-coded events (the original region's signature no longer fits them).
        self.centre_key = centre_key
        self.registry = registry
        # Times stay epoch-millisecond ints (pydantic validates those as UTC datetimes; the views want ms).
        self.deserializer = AvroDeserializer(registry, wire_times=True)
        self.router = router
        self.theme_of_topic = theme_of_topic
        self._view_topic_name = view_topic_name
        self._event_serializers: dict[str, AvroSerializer] = {}
        self._view_serializers: dict[str, AvroSerializer] = {}
        # schema id -> (event type, whether the writer has exactly the model's fields)
        self._by_schema: dict[int, tuple[Any, bool]] = {}

    # -- start-up ------------------------------------------------------------

    def warm(self) -> None:
        """Register/look up every event and view schema so decoding never waits on the registry."""
        for topic, theme in self.theme_of_topic.items():
            for et in schemas.events_of_theme(theme):
                self.deserializer.warm([self._event_serializer(et).schema_id(topic)])
        for view in VIEWS:
            self._view_serializer(view).schema_id(self._view_topic_name(view))

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

    def _event_type(self, schema_id: int, record_name: str, record: dict[str, Any]) -> tuple[Any, bool]:
        entry = self._by_schema.get(schema_id)
        if entry is None:
            et = schemas.by_record_name(record_name)
            exact = set(record) == set(et.model.model_fields) and set(record["envelope"]) == set(
                et.model.model_fields["envelope"].annotation.model_fields
            )
            entry = self._by_schema[schema_id] = (et, exact)
        return entry

    # -- per batch -------------------------------------------------------------

    def process(self, topic: str, partition: int, records: Sequence[Any], task: Any, now_s: float) -> TaskResult:
        """Run ``records`` of one topic partition, in offset order, against its task state."""
        result = TaskResult()
        theme = self.theme_of_topic.get(topic, "unknown")
        outcomes = result.outcomes
        late_before_ms = (now_s - self.dedupe_window_s) * 1000
        for record in records:
            result.events += 1
            try:
                outcome = self._process(topic, theme, partition, record, task, result, late_before_ms)
            except Exception as exc:  # never stop on one record
                outcome = self._dead_letter(result.outgoing, topic, theme, partition, record, "process", exc)
            outcomes[(theme, outcome)] += 1
        return result

    def _dead_letter(self, outgoing: list[Outgoing], topic: str, theme: str, partition: int, record: Any, stage: str, error: BaseException) -> str:
        outgoing.append(
            Outgoing(
                dlq_topic_for(topic),
                record.key(),
                record.value(),
                dlq_headers(record.headers(), stage=stage, error=error, topic=topic, partition=partition, offset=record.offset()),
            )
        )
        metrics.DLQ_EVENTS.labels(theme, stage).inc()
        return "dlq"

    def _process(self, topic: str, theme: str, partition: int, msg: Any, task: Any, result: TaskResult, late_before_ms: float) -> str:
        value = msg.value()
        outgoing = result.outgoing
        if self.verifier is not None:
            try:
                self.verifier.check(topic, theme, msg)
            except VerificationError as exc:
                return self._dead_letter(outgoing, topic, theme, partition, msg, "verify", exc)
        try:
            decoded = self.deserializer(value, topic)
        except SerdeError as exc:
            return self._dead_letter(outgoing, topic, theme, partition, msg, "decode", exc)
        record = decoded.value
        raw_key = msg.key()
        try:
            et, exact = self._event_type(decoded.schema_id, decoded.record_name, record)
            if et.theme != theme:
                raise ProcessorError(f"{et.name} belongs to theme {et.theme}, not to topic {topic}", event_type=et.name)
            region = record["envelope"]["region_code"]
            key = raw_key.decode() if raw_key is not None else None
            current = current_region_code(region)
            if key is None or current_region_code(key) != current:
                raise ProcessorError(
                    f"record key {key!r} is not the envelope's region code {region!r}", key=key, region_code=region
                )
        except Exception as exc:
            return self._dead_letter(outgoing, topic, theme, partition, msg, "validate", exc)

        headers = msg.headers()
        try:
            if may_hold_raw_nik(value):
                refuse_raw_nik(record)
            if current != region or key != current:
                # A legacy code: re-publish under the current code and key; the copy
                # comes back to this pipeline in the partition of its region.
                record["envelope"]["region_code"] = current
                fixed = self._event_serializer(et)(record, topic)
                fixed_headers = [
                    (k, ce_source(current, record["envelope"]["source_system"]).encode()) if k == HEADER_SOURCE else (k, v)
                    for k, v in headers or () if k not in SIGNATURE_HEADERS
                ]
                if self.centre_key is not None:
                    # The region's signature covered the legacy code: the centre vouches for the correction.
                    fixed_headers += self.centre_key.sign_batch([leaf_of(topic, current.encode(), fixed, fixed_headers)])[0]
                outgoing.append(Outgoing(topic, current.encode(), fixed, fixed_headers))
                return "transformed"
        except Exception as exc:
            return self._dead_letter(outgoing, topic, theme, partition, msg, "transform", exc)

        try:
            if exact:
                try:
                    et.model.__pydantic_validator__.validate_python(record)
                except Exception:
                    et.model.from_avro(record)  # raises the contract's SchemaValidationError, fields named
            else:
                et.model.from_avro(record)
        except Exception as exc:
            return self._dead_letter(outgoing, topic, theme, partition, msg, "validate", exc)

        envelope = record["envelope"]
        event_id = str(envelope["event_id"]).encode()
        if len(event_id) != 36:  # the contract's uuid; the seen-set stores ids at that fixed width
            return self._dead_letter(outgoing, topic, theme, partition, msg, "validate",
                                     ProcessorError(f"event_id {event_id!r} is not a canonical UUID"))
        if task.is_seen(event_id):
            return "duplicate"
        produced_ms = _seconds(envelope["produced_at"]) * 1000
        try:
            changed = apply_event(task, theme, et.name, record)
        except Exception as exc:
            return self._dead_letter(outgoing, topic, theme, partition, msg, "aggregate", exc)
        result.changed.update(changed)
        task.mark_seen(event_id)
        if produced_ms < late_before_ms:
            # Older than the window: a copy of it may have come before and been forgotten.
            result.outcomes[(theme, "late")] += 1
        for destination in self.router.route(headers, raw_key):
            outgoing.append(Outgoing(destination, raw_key, value, list(headers or ())))
        result.latencies.append((theme, _seconds(envelope["occurred_at"]), produced_ms / 1000))
        return "ok"

    # -- views -------------------------------------------------------------------

    def view_records(self, changed: Iterable[tuple[str, str]], state: Any) -> list[Outgoing]:
        """The view rows to publish for the ``(view, key)`` pairs a commit interval changed."""
        out = []
        counts: Counter = Counter()
        for view, key in sorted(changed):
            row = render_row(view, key, state[f"{view}|{key}"])
            topic = self._view_topic_name(view)
            out.append(Outgoing(topic, key.encode(), self._view_serializer(view)(row, topic)))
            counts[view] += 1
        for view, n in counts.items():
            metrics.VIEW_UPDATES.labels(view).inc(n)
        return out

    @staticmethod
    def observe(result: TaskResult, now: float) -> None:
        """Count outcomes and record end-to-end latencies (call once the view rows are committed)."""
        for (theme, outcome), n in result.outcomes.items():
            if outcome == "late":  # not an outcome of its own: these events are also counted "ok"
                metrics.LATE_EVENTS.labels(theme).inc(n)
            else:
                metrics.EVENTS_PROCESSED.labels(PROCESSOR, theme, outcome).inc(n)
        by_theme: dict[str, tuple[list[float], list[float]]] = {}
        for theme, occurred, produced in result.latencies:
            lists = by_theme.get(theme)
            if lists is None:
                lists = by_theme[theme] = ([], [])
            lists[0].append(max(0.0, now - occurred))
            lists[1].append(max(0.0, now - produced))
        for theme, (since_occurred, since_produced) in by_theme.items():
            metrics.E2E_LATENCY.observe_many((theme, "occurred_at"), since_occurred)
            metrics.E2E_LATENCY.observe_many((theme, "produced_at"), since_produced)
