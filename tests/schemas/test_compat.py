"""Naming schema changes and judging them under BACKWARD plus the project rule."""

from __future__ import annotations

import copy

import schemas
from schemas.compat import breaking, changes

BASE = schemas.event_type("BirthRegistered").avro_schema


def _mutate(fn):
    new = copy.deepcopy(BASE)
    fn(new["fields"])
    return new


def _field(fields, name):
    return next(f for f in fields if f["name"] == name)


def test_identical_and_doc_only():
    assert changes(BASE, BASE) == []
    assert changes(BASE, _mutate(lambda f: _field(f, "age_band").update(doc="other words"))) == []


def test_each_change_is_named():
    cases = {
        "added with default": (lambda f: f.append({"name": "x", "type": ["null", "string"], "default": None, "doc": "d"}), "BirthRegistered.x: field added with a default", False),
        "added without default": (lambda f: f.append({"name": "x", "type": "string", "doc": "d"}), "BirthRegistered.x: field added without a default", True),
        "removed without default": (lambda f: f.remove(_field(f, "age_band")), "BirthRegistered.age_band: field removed without a default", True),
        "type changed": (lambda f: _field(f, "registration_delay_days").update(type="string"), "BirthRegistered.registration_delay_days: type changed from int to string", True),
        "promoted": (lambda f: _field(f, "registration_delay_days").update(type="long"), "BirthRegistered.registration_delay_days: type promoted from int to long", False),
        "made optional": (lambda f: _field(f, "age_band").update(type=["null", "string"], default=None), "BirthRegistered.age_band: type widened from string to [null, string]", False),
        "made required": (lambda f: _field(f, "registration_delay_days").update(type="boolean"), "type changed from int to boolean", True),
        "enum symbol lost": (lambda f: _field(f, "sex")["type"].update(symbols=["L"]), "BirthRegistered.sex: enum Sex lost symbols ['P']", True),
        "envelope field added": (lambda f: f[0]["type"]["fields"].append({"name": "y", "type": "int", "doc": "d"}), "BirthRegistered.envelope.y: field added without a default", True),
    }
    for label, (fn, text, is_breaking) in cases.items():
        found = changes(BASE, _mutate(fn))
        assert any(text in str(c) for c in found), (label, found)
        assert bool(breaking(BASE, _mutate(fn))) == is_breaking, label


def test_optional_to_required_is_breaking():
    old = _mutate(lambda f: _field(f, "age_band").update(type=["null", "string"], default=None))
    assert [str(c) for c in breaking(old, BASE)] == [
        "BirthRegistered.age_band: type changed from [null, string] to string (null values no longer fit)"
    ]


def test_decimal_scale_change_is_breaking():
    base = schemas.event_type("TaxAssessed").avro_schema
    new = copy.deepcopy(base)
    _field(new["fields"], "amount")["type"]["scale"] = 0
    assert [str(c) for c in breaking(base, new)] == [
        "TaxAssessed.amount: type changed from bytes decimal(20,2) to bytes decimal(20,0)"
    ]
