"""Validation of the event models: every error names the field path and the rule."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import fastavro
import pytest

import schemas
from bus.errors import EgovBusError
from schemas import SchemaValidationError
from schemas.models import BirthRegistered, BudgetAllocated, Envelope, PermitIssued
from schemas.samples import SAMPLE_TIME, sample_event, sample_fields

NOW = datetime(2025, 3, 14, 2, 30, tzinfo=timezone.utc)


def _budget(**overrides):
    fields = {**sample_fields("BudgetAllocated"), **overrides}
    env = {k: fields.pop(k) for k in ("region_code", "occurred_at") if k in fields}
    return BudgetAllocated.new(
        region_code=env.get("region_code", "32.01"), source_system="sipd", occurred_at=env.get("occurred_at", NOW),
        produced_at=NOW, **fields,
    )


def _rules(exc: SchemaValidationError) -> dict[tuple, str]:
    return {e["loc"]: e["rule"] for e in exc.errors}


def test_error_hierarchy():
    assert issubclass(SchemaValidationError, schemas.SchemaError)
    assert issubclass(schemas.SchemaError, EgovBusError)


def test_new_fills_the_envelope():
    ev = _budget()
    assert ev.envelope.event_type == "BudgetAllocated"
    assert uuid.UUID(ev.envelope.event_id).version == 4
    assert ev.envelope.schema_version == 1
    assert ev.envelope.produced_at == NOW
    assert ev.event_id == ev.envelope.event_id and ev.region_code == "32.01"
    fresh = BudgetAllocated.new(region_code="32", source_system="sipd", occurred_at=NOW, **sample_fields("BudgetAllocated"))
    assert fresh.envelope.produced_at.tzinfo is timezone.utc


@pytest.mark.parametrize(
    ("overrides", "loc", "rule"),
    [
        ({"region_code": "99.99"}, ("envelope", "region_code"), "current_region_code"),
        ({"region_code": "3201"}, ("envelope", "region_code"), "current_region_code"),
        ({"region_code": "91.04"}, ("envelope", "region_code"), "current_region_code"),
        ({"region_code": "32.01.01"}, ("envelope", "region_code"), "current_region_code"),
        ({"occurred_at": datetime(2025, 3, 14, 2, 30)}, ("envelope", "occurred_at"), "tz_aware"),
        ({"occurred_at": NOW + timedelta(hours=1)}, ("envelope", "occurred_at"), "occurred_before_produced"),
        ({"fiscal_year": 1999}, ("fiscal_year",), "fiscal_year_range"),
        ({"fiscal_year": 20251}, ("fiscal_year",), "fiscal_year_range"),
        ({"amount": "-0.01"}, ("amount",), "non_negative"),
        ({"amount": "1.001"}, ("amount",), "decimal_scale"),
        ({"amount": 0.1 + 0.2}, ("amount",), "decimal_scale"),
        ({"amount": "1" + "0" * 18}, ("amount",), "decimal_precision"),
        ({"amount": "NaN"}, ("amount",), "finite_number"),
        ({"amount": "lots"}, ("amount",), "decimal_parsing"),
        ({"allocation_id": ""}, ("allocation_id",), "string_too_short"),
        ({"unknown_field": 1}, ("unknown_field",), "extra_forbidden"),
    ],
)
def test_rule_violations_name_field_and_rule(overrides, loc, rule):
    with pytest.raises(SchemaValidationError) as exc:
        _budget(**overrides)
    assert _rules(exc.value) == {loc: rule}
    path = ".".join(str(p) for p in loc)
    assert f"{path}: " in str(exc.value) and f"[rule: {rule}]" in str(exc.value)
    assert str(exc.value).startswith("BudgetAllocated: ")


def test_all_errors_reported_at_once():
    with pytest.raises(SchemaValidationError) as exc:
        _budget(region_code="00", fiscal_year=1, amount="-5", program_code="")
    assert _rules(exc.value) == {
        ("envelope", "region_code"): "current_region_code",
        ("fiscal_year",): "fiscal_year_range",
        ("amount",): "non_negative",
        ("program_code",): "program_code",
    }
    body = exc.value.to_dict()
    assert body["error"] == "SchemaValidationError"
    assert {"loc": ["envelope", "region_code"], "rule": "current_region_code"}.items() <= body["errors"][0].items()


def test_region_hint_for_undotted_code():
    with pytest.raises(SchemaValidationError, match=r"'3201' is not a current Kemendagri code .*did you mean '32.01'"):
        _budget(region_code="3201")


def test_money_is_normalised_to_two_places():
    ev = _budget(amount=1500000)
    assert ev.amount == Decimal("1500000.00") and str(ev.amount) == "1500000.00"
    assert _budget(amount="12.5").amount.as_tuple().exponent == -2
    assert _budget(amount=1234.5).amount == Decimal("1234.50")
    assert _budget(amount="9" * 18 + ".99").amount == Decimal("9" * 18 + ".99")  # the largest decimal(20,2)


def test_timestamps_become_utc_millis():
    wib = timezone(timedelta(hours=7))
    ev = _budget(occurred_at=datetime(2025, 3, 14, 9, 0, 0, 123456, tzinfo=wib))
    assert ev.envelope.occurred_at == datetime(2025, 3, 14, 2, 0, 0, 123000, tzinfo=timezone.utc)
    assert ev.envelope.occurred_at.tzinfo is timezone.utc


def test_event_type_must_match_model():
    data = sample_event("BudgetAllocated").to_avro()
    data["envelope"]["event_type"] = "ApbdAdopted"
    with pytest.raises(SchemaValidationError) as exc:
        BudgetAllocated.from_avro(data)
    assert _rules(exc.value) == {("envelope", "event_type"): "event_type_matches_model"}


def test_envelope_rules():
    env = sample_event("BudgetAllocated").envelope.model_dump()
    with pytest.raises(SchemaValidationError) as exc:
        Envelope(**{**env, "event_id": "not-a-uuid", "source_system": "sipd/../x", "schema_version": -1})
    assert _rules(exc.value) == {("event_id",): "uuid", ("source_system",): "source_system", ("schema_version",): "greater_than_equal"}


def test_population_rules():
    with pytest.raises(SchemaValidationError) as exc:
        sample_event("BirthRegistered", nik_pseudonym="3201011203950001", sex="X", age_band="29-25", district_code="32.01")
    assert _rules(exc.value) == {
        ("nik_pseudonym",): "raw_nik",
        ("sex",): "literal_error",
        ("age_band",): "age_band",
        ("district_code",): "current_district_code",
    }
    assert "3201011203950001" not in str(exc.value)  # a raw NIK is never echoed
    with pytest.raises(SchemaValidationError) as exc:
        sample_event("BirthRegistered", district_code="33.01.01")
    assert _rules(exc.value) == {("district_code",): "district_in_region"}
    assert sample_event("BirthRegistered", age_band="85+").age_band == "85+"


def test_optional_region_fields_are_checked_when_present():
    assert sample_event("ComplaintForwarded", to_region_code=None).to_region_code is None
    with pytest.raises(SchemaValidationError) as exc:
        sample_event("ComplaintForwarded", to_region_code="91.04")
    assert _rules(exc.value) == {("to_region_code",): "current_region_code"}


def test_models_are_frozen():
    ev = _budget()
    with pytest.raises(Exception):
        ev.amount = Decimal("1")  # type: ignore[misc]


@pytest.mark.parametrize("name", list(schemas.EVENT_TYPES))
def test_fastavro_round_trip(name):
    et = schemas.event_type(name)
    ev = sample_event(name)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, et.parsed_schema, ev.to_avro())
    buf.seek(0)
    decoded = fastavro.schemaless_reader(buf, et.parsed_schema)
    assert et.model.from_avro(decoded) == ev
    assert et.model.from_avro(decoded).to_avro() == ev.to_avro()


def test_from_avro_ignores_fields_of_a_newer_writer():
    data = sample_event("PermitIssued").to_avro()
    data["added_in_v2"] = "x"
    data["envelope"]["added_in_v2"] = 1
    assert PermitIssued.from_avro(data) == sample_event("PermitIssued")


def test_validate_event_accepts_json_like_input():
    data = sample_event("BirthRegistered").model_dump(mode="json")
    assert isinstance(data["envelope"]["occurred_at"], str)
    assert BirthRegistered.validate_event(data) == sample_event("BirthRegistered")
    assert BirthRegistered.model_validate_json(sample_event("BirthRegistered").model_dump_json()) == sample_event("BirthRegistered")
    with pytest.raises(SchemaValidationError):
        BirthRegistered.model_validate_json(b'{"envelope": {}}')


def test_samples_are_deterministic():
    assert sample_event("TaxAssessed") == sample_event("TaxAssessed")
    assert sample_event("TaxAssessed").envelope.occurred_at == SAMPLE_TIME
