"""Unit tests: legacy Papua codes, enrichment and the raw-NIK guard."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

import schemas
from bus.serde import AvroSerializer
from processors.exceptions import TransformError
from processors.pipeline import Pipeline
from processors.routing import Router
from processors.state.store import StateStore
from processors.transform import current_region_code, enrich, legacy_code_map, refuse_raw_nik
from schemas import regions
from schemas.cloudevents import build_headers
from tests.processors.messages import Msg
from schemas.exceptions import format_loc
from schemas.privacy import RAW_NIK_MESSAGE
from schemas.samples import sample_event
from tests.schemas.nik_cases import CASES, NikCase, list_cases, string_cases


def test_every_legacy_code_maps_to_a_current_regency_under_93_to_96() -> None:
    mapping = legacy_code_map()
    assert len(mapping) == 26
    for old, new in mapping.items():
        assert not regions.is_current_region(old), old
        assert new.split(".")[0] in {"93", "94", "95", "96"}
        assert regions.is_current_region(new)
    # Every regency of the four new provinces has exactly one legacy code.
    new_regencies = {r.code for r in regions.all_regions() if r.level == 2 and r.province_code in {"93", "94", "95", "96"}}
    assert set(mapping.values()) == new_regencies


@pytest.mark.parametrize(
    ("old", "new"),
    [("91.01", "93.01"), ("91.09", "94.04"), ("91.02", "95.01"), ("92.71", "96.71"), ("92.01", "96.01")],
)
def test_known_mappings(old: str, new: str) -> None:
    assert current_region_code(old) == new


def test_current_codes_stay() -> None:
    assert current_region_code("91.03") == "91.03"
    assert current_region_code("32.01") == "32.01"


def test_enrich() -> None:
    assert enrich("32.01") == {"region_name": "Kabupaten Bogor", "province_code": "32", "province_name": "Jawa Barat"}
    assert enrich("99.99")["province_code"] is None


def test_raw_nik_is_refused_without_echoing_it() -> None:
    value = {"envelope": {"region_code": "32.01"}, "notes": "pelapor NIK 3201011203900001 mohon"}
    with pytest.raises(TransformError) as info:
        refuse_raw_nik(value)
    assert info.value.fields == {"field": "notes", "rule": "raw_nik"}
    assert str(info.value) == f"notes: {RAW_NIK_MESSAGE}"
    assert "3201011203900001" not in str(info.value)


def test_nested_and_list_values_are_scanned() -> None:
    with pytest.raises(TransformError, match=r"items\[1\]"):
        refuse_raw_nik({"items": ["ok", "3201011203900001"]})


def test_pseudonyms_and_other_numbers_pass() -> None:
    refuse_raw_nik(
        {
            "nik_pseudonym": "a" * 8 + "1234567890123456" + "b" * 40,
            "amount": "123456789012345.00",
            "npwp": "012345678901234",
        }
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_central_transform_refuses_exactly_the_shared_table_rows(case: NikCase) -> None:
    # The same table as the regional guard's (tests/adapters/privacy/test_raw_nik_table.py).
    if case.refused:
        with pytest.raises(TransformError) as info:
            refuse_raw_nik({"value": case.value})
        assert info.value.fields["field"] == format_loc(("value", *case.refused_at))
    else:
        refuse_raw_nik({"value": case.value})


def _dead_letter_stages(pipeline: Pipeline, store: StateStore, registry, topic: str, events: list) -> list[str | None]:
    """Per event: the DLQ stage it ended in, or None; produced like a system that bypasses the SDK."""
    stages: list[str | None] = []
    for offset, event in enumerate(events):
        et = schemas.event_type(type(event).__name__)
        value = AvroSerializer(registry, et.avro_schema)(event.to_avro(), topic)
        msg = Msg(value, event.region_code.encode(), build_headers(event, et), offset)
        result = pipeline.process(topic, 0, [msg], store.task(0), time.time())
        dlq = [dict(o.headers)["error.stage"].decode() for o in result.outgoing if o.topic.endswith(".dlq")]
        stages.append(dlq[0] if dlq else None)
    return stages


def test_the_pipeline_refuses_exactly_the_shared_table_rows(tmp_path) -> None:
    # End to end through the central pipeline (byte pre-filter, then the transform): a string row in
    # a free-text field, a list row in an array<string> field.
    registry = SchemaRegistryClient.new_client({"url": "mock://transform-nik-table"})
    topics = {"egov.complaints.events": "complaints", "egov.opendata.events": "opendata"}
    pipeline = Pipeline(registry, Router([]), topics, dedupe_window_s=7 * 86400.0)
    store = StateStore(tmp_path)
    try:
        strings = string_cases()
        texts = [sample_event("ComplaintReceived", event_id=_event_id(c), category=c.value) for c in strings]
        lists = list_cases()
        keywords = [sample_event("DatasetPublished", event_id=_event_id(c), keywords=c.value) for c in lists]
        stages = _dead_letter_stages(pipeline, store, registry, "egov.complaints.events", texts)
        stages += _dead_letter_stages(pipeline, store, registry, "egov.opendata.events", keywords)
    finally:
        store.close()
    outcome = {case.id: stage for case, stage in zip([*strings, *lists], stages)}
    assert {case_id for case_id, stage in outcome.items() if stage == "transform"} == {
        c.id for c in [*strings, *lists] if c.refused
    }
    assert {stage for stage in outcome.values()} == {"transform", None}  # every other row went through
    # Only the map rows cannot be put in an event (no contract has a map field).
    assert {c.id for c in CASES} - set(outcome) == {c.id for c in CASES if isinstance(c.value, dict)}


def _event_id(case: NikCase) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"egov-bus:nik-case:{case.id}"))


