"""Field types: official code shapes and control characters, as every generated model applies them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas import EVENT_TYPES, SchemaValidationError, event_type
from schemas.codegen import python_type
from schemas.samples import sample_event
from schemas.types import TEXT_PATTERN, control_character_message

CONTROL_MESSAGE = (
    "holds the control character U+0000 at position 4; no string field may hold U+0000-U+001F or U+007F "
    "(tab, line feed and carriage return only in free text)"
)


def _rules(exc: SchemaValidationError) -> dict[tuple, str]:
    return {e["loc"]: e["rule"] for e in exc.errors}


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("agency_code", "AgencyCode"), ("sender_agency_code", "AgencyCode"), ("to_agency_code", "AgencyCode"),
        ("program_code", "ProgramCode"), ("from_program_code", "ProgramCode"),
        ("activity_code", "ActivityCode"), ("to_activity_code", "ActivityCode"),
        ("sub_activity_code", "SubActivityCode"),
        ("to_agency", "Text"), ("asset_code", "Text"), ("kbli_code", "Text"),
    ],
)
def test_codegen_picks_the_code_type_by_field_name(name: str, rule: str) -> None:
    assert python_type(name, "string", {}, "test") == rule
    assert python_type(name, ["null", "string"], {}, "test") == f"{rule} | None"


def test_every_code_field_of_the_contracts_has_its_type() -> None:
    coded = {
        (et.name, f["name"]): python_type(f["name"], f["type"], {"id.go.egov.common.Sex": {"name": "Sex"}}, et.name)
        for et in EVENT_TYPES.values() for f in et.avro_schema["fields"][1:]
        if any(part in f["name"] for part in ("agency_code", "program_code", "activity_code"))
    }
    assert len(coded) == 26  # 16 agency, 5 program, 4 activity and 1 sub-activity fields
    assert all(t.removesuffix(" | None") in {"AgencyCode", "ProgramCode", "ActivityCode", "SubActivityCode"}
               for t in coded.values())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("agency_code", "1.02"),
        ("agency_code", "1.02.0.00.0.00.01.0000"),
        ("agency_code", "8.01.0.00.0.00.01.0002"),
        ("agency_code", "1.02.2.10.0.00.01.0000"),
        ("program_code", "1.02.02"),
        ("program_code", "5.02.01"),
        ("activity_code", "1.02.02.2.01"),
        ("activity_code", "1.01.02.1.01"),
        ("sub_activity_code", "1.02.02.2.01.0001"),
        ("sub_activity_code", "1.02.02.2.01.01"),
        ("sub_activity_code", None),
    ],
)
def test_official_code_shapes_are_accepted(field: str, value: str | None) -> None:
    assert getattr(sample_event("BudgetAllocated", **{field: value}), field) == value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("agency_code", "1.2"),
        ("agency_code", "9.02"),
        ("agency_code", "0.00"),
        ("agency_code", "1.02.01"),
        ("agency_code", "1.02.0.00.0.00.01"),
        ("agency_code", "1.02.0.00.0.00.01.000"),
        ("agency_code", "1,02"),
        ("agency_code", " 1.02"),
        ("agency_code", "1.02\n"),
        ("agency_code", "١.٠٢"),  # Arabic-Indic digits: ASCII only
        ("agency_code", "Dinas Kesehatan"),
        ("program_code", "1.02"),
        ("program_code", "1.02.2"),
        ("program_code", "1.02.02.2.01"),
        ("program_code", "X.XX.01"),
        ("activity_code", "1.02.02"),
        ("activity_code", "1.02.02.2.1"),
        ("activity_code", "1.02.02.20.01"),
        ("sub_activity_code", "1.02.02.2.01"),
        ("sub_activity_code", "1.02.02.2.01.001"),
        ("sub_activity_code", "1.02.02.2.01.00001"),
        ("sub_activity_code", ""),
    ],
)
def test_codes_of_another_shape_are_refused_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(SchemaValidationError) as exc:
        sample_event("BudgetAllocated", **{field: value})
    assert _rules(exc.value) == {(field,): field}
    assert f"BudgetAllocated: {field}: " in str(exc.value)


def test_every_code_field_is_checked_also_the_prefixed_ones() -> None:
    with pytest.raises(SchemaValidationError) as exc:
        sample_event("BudgetShiftPosted", agency_code="1.02.01", from_program_code="1.2.02", to_program_code="x",
                     from_activity_code="1.02.02", to_activity_code="1.02.02.2.001")
    assert _rules(exc.value) == {
        ("agency_code",): "agency_code", ("from_program_code",): "program_code", ("to_program_code",): "program_code",
        ("from_activity_code",): "activity_code", ("to_activity_code",): "activity_code",
    }
    with pytest.raises(SchemaValidationError) as exc:
        sample_event("EmployeeTransferred", from_agency_code="1.02", to_agency_code="Dinas Kesehatan")
    assert _rules(exc.value) == {("to_agency_code",): "agency_code"}


def test_the_nul_byte_of_issue_11_is_refused_as_a_control_character() -> None:
    with pytest.raises(SchemaValidationError) as exc:
        sample_event("BudgetAllocated", agency_code="1.02\u0000")
    assert exc.value.errors == [{"loc": ("agency_code",), "msg": CONTROL_MESSAGE, "rule": "control_character"}]


def _string_paths(record: dict[str, Any]) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = []
    for name, value in record.items():
        if isinstance(value, str):
            paths.append((name,))
        elif isinstance(value, list) and value and isinstance(value[0], str):
            paths.append((name, 0))
        elif isinstance(value, dict):
            paths.extend((name, *sub) for sub in _string_paths(value))
    return paths


def _with(record: dict[str, Any], path: tuple[Any, ...], change) -> dict[str, Any]:
    out = copy.deepcopy(record)
    holder = out
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = change(holder[path[-1]])
    return out


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x1f", "\x7f"])
def test_every_string_field_of_every_event_refuses_control_characters(name: str, char: str) -> None:
    model = event_type(name).model
    record = sample_event(name).to_avro()
    paths = _string_paths(record)
    assert ("envelope", "region_code") in paths and ("envelope", "source_system") in paths
    for path in paths:
        with pytest.raises(SchemaValidationError) as exc:
            model.from_avro(_with(record, path, lambda v: v[:1] + char + v[1:]))
        assert [(e["loc"], e["rule"]) for e in exc.value.errors] == [(path, "control_character")], path
        assert f"U+{ord(char):04X} at position 1" in exc.value.errors[0]["msg"]


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_tab_and_line_breaks_are_free_text_only(char: str) -> None:
    event = sample_event("ComplaintResolved", outcome=f"ditindaklanjuti{char}oleh dinas")
    assert event.outcome == f"ditindaklanjuti{char}oleh dinas"
    for field in ("agency_code", "program_code", "activity_code"):
        value = sample_event("BudgetAllocated").to_avro()[field] + char
        with pytest.raises(SchemaValidationError) as exc:
            sample_event("BudgetAllocated", **{field: value})
        assert _rules(exc.value) == {(field,): field}
    with pytest.raises(SchemaValidationError) as exc:
        sample_event("BudgetAllocated", region_code="32.01" + char)
    assert _rules(exc.value) == {("envelope", "region_code"): "current_region_code"}


def test_other_characters_pass() -> None:
    # C1 controls and the rest of Unicode are not in the rule (issue 11 names C0 and DEL).
    text = "Jl. Merdeka № 5 – ﷺ 漢字 \u0085 \u00a0 emoji 🎉"
    assert sample_event("ComplaintResolved", outcome=text).outcome == text
    assert control_character_message(text) is None


def test_the_message_names_the_first_character_and_never_the_value() -> None:
    assert control_character_message("ab\x1fc\x00") == (
        "holds the control character U+001F at position 2; no string field may hold U+0000-U+001F or U+007F "
        "(tab, line feed and carriage return only in free text)"
    )
    assert TEXT_PATTERN == "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"
