"""The .avsc files follow the contract rules of THEMES.md and CONTRACT.md."""

from __future__ import annotations

import json
from collections import Counter

import fastavro
import pytest

import schemas
from schemas.avro_files import AVRO_DIR, common_types, event_files, load_avsc
from schemas.lint import lint

ENVELOPE_FIELDS = ["event_id", "event_type", "region_code", "source_system", "occurred_at", "produced_at", "schema_version"]


def test_fifteen_themes_in_themes_md_order():
    assert schemas.THEMES == (
        "planning", "budgeting", "treasury", "procurement", "personnel", "archives", "assets", "oversight",
        "accountability", "appraisal", "complaints", "opendata", "licensing", "population", "revenue",
    )


def test_at_least_30_events_and_two_per_theme():
    per_theme = Counter(et.theme for et in schemas.EVENT_TYPES.values())
    assert len(schemas.EVENT_TYPES) >= 30
    assert set(per_theme) == set(schemas.THEMES)
    assert min(per_theme.values()) >= 2, per_theme


def test_every_avsc_file_is_an_event_type():
    assert sorted(p.stem for _, p in event_files()) == sorted(schemas.EVENT_TYPES)


def test_envelope_is_a_shared_named_type():
    envelope = common_types()["id.go.egov.common.Envelope"]
    assert [f["name"] for f in envelope["fields"]] == ENVELOPE_FIELDS
    types = {f["name"]: f["type"] for f in envelope["fields"]}
    assert types["event_id"] == {"type": "string", "logicalType": "uuid"}
    assert types["occurred_at"] == types["produced_at"] == {"type": "long", "logicalType": "timestamp-millis"}
    assert next(f for f in envelope["fields"] if f["name"] == "schema_version")["default"] == 1
    for theme, path in event_files():
        raw = load_avsc(path)
        # referenced by name in the file, not copied
        assert raw["fields"][0] == {"name": "envelope", "type": "id.go.egov.common.Envelope", "doc": raw["fields"][0]["doc"]}
        assert "Envelope" not in json.dumps(raw["fields"][1:]), path


@pytest.mark.parametrize("name", list(schemas.EVENT_TYPES))
def test_expanded_schema_parses_and_follows_the_rules(name):
    et = schemas.event_type(name)
    fastavro.parse_schema(et.avro_schema)  # raises on an invalid schema
    assert et.avro_schema["fields"][0]["type"]["name"] == "Envelope"
    assert lint(et.avro_schema, name) == []


def test_lint_catches_rule_breaks():
    bad = {
        "type": "record", "name": "Bad", "namespace": "id.go.egov.test", "doc": "x",
        "fields": [
            {"name": "nik", "type": "string", "doc": "raw NIK"},
            {"name": "amount", "type": "double", "doc": "money as float"},
            {"name": "fee", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 0}, "doc": "d"},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}, "doc": "t"},
            {"name": "note", "type": ["null", "string"]},
        ],
    }
    problems = "\n".join(lint(bad))
    assert "nik: personal identifiers travel only as nik_pseudonym" in problems
    assert "amount: looks like money but is double" in problems
    assert "fee: money must be bytes decimal(20,2)" in problems
    assert "at: times must be timestamp-millis" in problems
    assert "note: field has no doc" in problems
    assert 'note: optional fields are ["null", T] with default null' in problems


def test_naming_of_topics_subjects_and_ce_types():
    et = schemas.event_type("BudgetAllocated")
    assert (et.theme, et.record_name, et.topic, et.dlq_topic, et.ce_type) == (
        "budgeting", "id.go.egov.budgeting.BudgetAllocated", "egov.budgeting.events", "egov.budgeting.dlq",
        "id.go.egov.budgeting.BudgetAllocated.v1",
    )
    assert schemas.event_type(et.record_name) is et and schemas.event_type(et.ce_type) is et
    assert schemas.by_record_name(et.record_name) is et and schemas.by_ce_type(et.ce_type) is et
    assert [e.name for e in schemas.events_of_theme("licensing")] == ["PermitApplied", "PermitIssued", "PermitRejected"]


def test_unknown_event_type_is_a_schema_error():
    with pytest.raises(schemas.UnknownEventTypeError, match="unknown event type 'Nope'") as exc:
        schemas.event_type("Nope")
    assert isinstance(exc.value, schemas.SchemaError)


# Fields the central views and the simulator rely on (CONTRACT.md).
REQUIRED_FIELDS = {
    "BudgetAllocated": {"allocation_id": "string", "fiscal_year": "int", "program_code": "string", "activity_code": "string", "amount": "money"},
    "ApbdAdopted": {"fiscal_year": "int", "total_revenue": "money", "total_expenditure": "money", "regulation_number": "string"},
    "BudgetRealizationPosted": {"realization_id": "string", "fiscal_year": "int", "program_code": "string", "activity_code": "string", "amount": "money"},
    "Sp2dIssued": {"sp2d_number": "string", "fiscal_year": "int", "amount": "money"},
    "ComplaintReceived": {"complaint_id": "string", "category": "string", "channel": "string"},
    "ComplaintForwarded": {"complaint_id": "string", "to_agency": "string"},
    "ComplaintResolved": {"complaint_id": "string", "received_at": "ts", "outcome": "string"},
    "PermitApplied": {"permit_id": "string", "permit_type": "string"},
    "PermitIssued": {"permit_id": "string", "permit_type": "string", "applied_at": "ts"},
    "PermitRejected": {"permit_id": "string", "permit_type": "string", "applied_at": "ts", "reason": "string"},
    "BirthRegistered": {"nik_pseudonym": "string", "sex": "sex", "age_band": "string", "district_code": "string"},
    "DeathRegistered": {"nik_pseudonym": "string", "sex": "sex", "age_band": "string", "district_code": "string"},
    "ResidenceMoved": {"nik_pseudonym": "string", "sex": "sex", "age_band": "string", "district_code": "string"},
}
SHAPES = {
    "string": "string",
    "int": "int",
    "money": {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 2},
    "ts": {"type": "long", "logicalType": "timestamp-millis"},
}


@pytest.mark.parametrize("name", list(REQUIRED_FIELDS))
def test_fields_the_views_rely_on(name):
    fields = {f["name"]: f["type"] for f in load_avsc(AVRO_DIR / schemas.event_type(name).theme / f"{name}.avsc")["fields"]}
    for field, shape in REQUIRED_FIELDS[name].items():
        expected = "id.go.egov.common.Sex" if shape == "sex" else SHAPES[shape]
        assert fields[field] == expected, (name, field)


def test_personnel_events_carry_only_the_pseudonym():
    for et in schemas.events_of_theme("personnel"):
        names = [f["name"] for f in et.avro_schema["fields"]]
        assert "nik_pseudonym" in names
        assert not any(n in ("nik", "nip") for n in names)


def test_sex_is_a_closed_enum():
    assert common_types()["id.go.egov.common.Sex"]["symbols"] == ["L", "P"]
