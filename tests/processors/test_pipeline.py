"""Unit tests of the pipeline against real RocksDB task state (registry: confluent-kafka's in-process mock)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from rocksdict import WriteBatch

import schemas
from bus.serde import AvroSerializer
from prometheus_client import REGISTRY

from processors.pipeline import Pipeline
from processors.routing import Router
from processors.state.store import StateStore
from processors.views import aggregates
from schemas.cloudevents import build_headers
from tests.processors.messages import Msg

TOPIC = "egov.complaints.events"
WINDOW_S = 7 * 86400.0


@pytest.fixture
def setup(tmp_path):
    registry = SchemaRegistryClient.new_client({"url": "mock://pipeline-test"})
    pipeline = Pipeline(registry, Router([]), {TOPIC: "complaints"}, dedupe_window_s=WINDOW_S)
    store = StateStore(tmp_path)
    yield pipeline, store, registry
    store.close()


def complaint(registry, offset: int, produced_at: datetime | None = None, region: str = "32.01") -> Msg:
    et = schemas.event_type("ComplaintReceived")
    event = schemas.models.ComplaintReceived.new(
        region_code=region, source_system="unit", occurred_at=datetime(2026, 11, 3, 8, tzinfo=timezone.utc),
        complaint_id=f"C-{offset}", category="infrastruktur", channel="web",
    )
    value = event.to_avro()
    if produced_at is not None:
        value["envelope"]["produced_at"] = produced_at
    return Msg(AvroSerializer(registry, et.avro_schema)(value, TOPIC), region.encode(), build_headers(event, et), offset)


def committed(store: StateStore, partition: int = 0) -> None:
    task = store.task(partition)
    batch = WriteBatch(raw_mode=True)
    task.stage_local(batch, task.changelog_records(), None)
    store.write(batch)


def test_a_duplicate_inside_the_window_changes_no_view(setup) -> None:
    pipeline, store, registry = setup
    msg = complaint(registry, 0)
    first = pipeline.process(TOPIC, 0, [msg], store.task(0), time.time())
    assert first.outcomes == {("complaints", "ok"): 1}
    assert first.changed == {("integration_index", "32.01|complaints"), ("complaint_service_level", "32.01|2026-11")}
    committed(store)
    again = pipeline.process(TOPIC, 0, [Msg(msg.value(), msg.key(), msg.headers(), 5)], store.task(0), time.time())
    assert again.outcomes == {("complaints", "duplicate"): 1} and not again.changed
    assert not store.task(0).has_changes()
    assert store.task(0).get("integration_index|32.01|complaints")["events_total"] == 1
    # Inside one commit interval too.
    twice = pipeline.process(TOPIC, 0, [complaint(registry, 7)] * 2, store.task(0), time.time())
    assert twice.outcomes == {("complaints", "ok"): 1, ("complaints", "duplicate"): 1}


def test_an_event_older_than_the_window_is_applied_and_counted_late(setup) -> None:
    pipeline, store, registry = setup
    def late() -> float:
        return REGISTRY.get_sample_value("egov_processor_late_events_total", {"theme": "complaints"}) or 0.0

    before = late()
    old = datetime.now(timezone.utc) - timedelta(seconds=WINDOW_S + 3600)
    result = pipeline.process(TOPIC, 0, [complaint(registry, 0, produced_at=old)], store.task(0), time.time())
    assert result.outcomes == {("complaints", "ok"): 1, ("complaints", "late"): 1}
    pipeline.observe(result, time.time())  # metrics are counted once the interval committed
    assert late() == before + 1


def test_a_fault_mid_apply_leaves_no_partial_update(setup, monkeypatch) -> None:
    pipeline, store, registry = setup
    pipeline.process(TOPIC, 0, [complaint(registry, 0)], store.task(0), time.time())
    committed(store)
    before = store.task(0).get("integration_index|32.01|complaints")
    assert before["events_total"] == 1

    # The integration-index update is computed first; the complaint row's month then fails.
    def broken_month(ms: int) -> str:
        raise RuntimeError("injected fault in the middle of apply")

    monkeypatch.setattr(aggregates, "_month", broken_month)
    msg = complaint(registry, 1)
    result = pipeline.process(TOPIC, 0, [msg], store.task(0), time.time())
    assert result.outcomes == {("complaints", "dlq"): 1} and not result.changed
    letter = result.outgoing[0]
    headers = dict(letter.headers)
    assert (letter.topic, headers["error.stage"], headers["error.class"]) == ("egov.complaints.dlq", b"aggregate", b"RuntimeError")
    task = store.task(0)
    assert not task.has_changes()  # nothing pending, and not marked seen
    assert task.get("integration_index|32.01|complaints") == before == {**before, "events_total": 1}

    # Fixed and replayed from the DLQ: counted exactly once.
    monkeypatch.undo()
    replayed = pipeline.process(TOPIC, 0, [Msg(letter.value, letter.key, msg.headers(), 2)], task, time.time())
    assert replayed.outcomes == {("complaints", "ok"): 1}
    assert task.get("integration_index|32.01|complaints")["events_total"] == 2
    assert task.get("complaint_service_level|32.01|2026-11")["received"] == 2


def test_a_corrupt_stored_row_dead_letters_without_touching_the_other_view(setup) -> None:
    pipeline, store, registry = setup
    task = store.task(0)
    task["complaint_service_level|32.01|2026-11"] = {"resolved": 0, "resolve_seconds": []}  # no "received"
    committed(store)
    result = pipeline.process(TOPIC, 0, [complaint(registry, 0)], task, time.time())
    assert result.outcomes == {("complaints", "dlq"): 1}
    assert dict(result.outgoing[0].headers)["error.class"] == b"KeyError"
    assert task.get("integration_index|32.01|complaints") is None and not task.has_changes()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("category", "infra\x00struktur",
         "ComplaintReceived: category: holds the control character U+0000 at position 5; no string field may hold "
         "U+0000-U+001F or U+007F (tab, line feed and carriage return only in free text) [rule: control_character]"),
        ("channel", "web\x7f",
         "ComplaintReceived: channel: holds the control character U+007F at position 3; no string field may hold "
         "U+0000-U+001F or U+007F (tab, line feed and carriage return only in free text) [rule: control_character]"),
    ],
)
def test_a_control_character_from_a_producer_without_the_sdk_is_a_dead_letter_naming_the_field(
    setup, field, value, reason
) -> None:
    # The SDK refuses it when the event is built; a producer that bypasses it meets the same model here.
    pipeline, store, registry = setup
    msg = complaint(registry, 0)
    record = dict(schemas.models.ComplaintReceived.new(
        region_code="32.01", source_system="unit", occurred_at=datetime(2026, 11, 3, 8, tzinfo=timezone.utc),
        complaint_id="C-0", category="infrastruktur", channel="web",
    ).to_avro(), **{field: value})
    et = schemas.event_type("ComplaintReceived")
    bad = Msg(AvroSerializer(registry, et.avro_schema)(record, TOPIC), msg.key(), msg.headers(), 1)
    result = pipeline.process(TOPIC, 0, [bad], store.task(0), time.time())
    assert result.outcomes == {("complaints", "dlq"): 1} and not result.changed
    [letter] = result.outgoing
    headers = dict(letter.headers)
    assert (letter.topic, headers["error.stage"], headers["error.class"]) == (
        "egov.complaints.dlq", b"validate", b"SchemaValidationError")
    assert headers["error.message"].decode() == reason
