"""Contract rules for ``.avsc`` files and the model-vs-schema drift check.

:func:`lint` enforces the field rules of THEMES.md on a schema (every field and
record documented, money as ``decimal(20,2)``, times as ``timestamp-millis``,
person identifiers only as ``nik_pseudonym``, optional fields defaulting to
null). :func:`model_drift` compares a pydantic model with its Avro record field
by field (names, order, types, defaults, optionality); the generated models
pass it by construction, so it catches a hand edit on either side.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from schemas import types as _types
from schemas.avro_files import PRIMITIVES
from schemas.codegen import python_type

_SNAKE = re.compile(r"[a-z][a-z0-9_]*")
# Field names that would carry a raw personal identifier (NIK, NIP, KK, passport, phone, e-mail, name).
_PERSONAL = re.compile(r"(^|_)(nik|nip|nkk|kk|passport|paspor|phone|telepon|email|full_name|nama)($|_)")


def lint(schema: Mapping[str, Any], where: str = "") -> list[str]:
    """Problems of one expanded record schema (empty when it follows the rules)."""
    problems: list[str] = []

    def check_type(t: Any, path: str) -> None:
        if isinstance(t, list):
            for m in t:
                check_type(m, path)
        elif isinstance(t, dict):
            kind, logical = t.get("type"), t.get("logicalType")
            if kind in ("record", "error"):
                check_record(t, path)
            elif kind == "array":
                check_type(t["items"], path + "[]")
            elif kind == "map":
                check_type(t["values"], path + "{}")
            elif kind == "enum" and not t.get("doc"):
                problems.append(f"{path}: enum {t.get('name')} has no doc")
            if logical == "decimal" and (kind, t.get("precision"), t.get("scale")) != ("bytes", 20, 2):
                problems.append(f"{path}: money must be bytes decimal(20,2), got {t}")
            if logical in ("timestamp-micros", "local-timestamp-millis", "local-timestamp-micros", "time-millis", "time-micros"):
                problems.append(f"{path}: times must be timestamp-millis (UTC), got {logical}")
        elif t == "float":
            problems.append(f"{path}: float loses precision; use double for measures, decimal for money")

    def check_record(rec: Mapping[str, Any], path: str) -> None:
        if not rec.get("doc"):
            problems.append(f"{path or rec['name']}: record {rec['name']} has no doc")
        for f in rec.get("fields", []):
            fpath = f"{path}.{f['name']}" if path else f["name"]
            if not f.get("doc"):
                problems.append(f"{fpath}: field has no doc")
            if not _SNAKE.fullmatch(f["name"]):
                problems.append(f"{fpath}: field names are snake_case")
            if _PERSONAL.search(f["name"]) and f["name"] != "nik_pseudonym":
                problems.append(f"{fpath}: personal identifiers travel only as nik_pseudonym")
            t = f["type"]
            if isinstance(t, list) and "null" in t and (t[0] != "null" or f.get("default", "<none>") is not None):
                problems.append(f"{fpath}: optional fields are [\"null\", T] with default null")
            money_name = any(w in f["name"] for w in ("amount", "value", "cost", "revenue", "expenditure", "budget", "proceeds", "ceiling", "estimate", "loss"))
            if money_name and _base(t) in ("int", "long", "double", "float"):
                problems.append(f"{fpath}: looks like money but is {_base(t)}; use decimal(20,2) (or rename if not money)")
            check_type(t, fpath)

    check_record(schema, where)
    return problems


def _base(t: Any) -> Any:
    if isinstance(t, list):
        members = [m for m in t if m != "null"]
        return _base(members[0]) if len(members) == 1 else t
    if isinstance(t, dict) and t.get("type") in PRIMITIVES and "logicalType" not in t:
        return t["type"]
    return t


def _named_types(schema: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, list):
        for s in schema:
            _named_types(s, out)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed"):
            name = schema["name"] if "." in schema["name"] else f"{schema.get('namespace', '')}.{schema['name']}".lstrip(".")
            out[name] = schema
        for key in ("fields",):
            for f in schema.get(key, []):
                _named_types(f["type"], out)
        for key in ("items", "values"):
            if key in schema:
                _named_types(schema[key], out)
        if isinstance(schema.get("type"), (dict, list)):
            _named_types(schema["type"], out)
    return out


def _expected_field(name: str, avro_type: Any, named: Mapping[str, Any], where: str) -> tuple[Any, FieldInfo | None]:
    if isinstance(avro_type, dict) and avro_type.get("type") == "record":
        return avro_type, None
    if isinstance(avro_type, str) and avro_type in named and named[avro_type]["type"] == "record":
        return named[avro_type], None
    source = python_type(name, avro_type, named, where)
    namespace: dict[str, Any] = {n: getattr(_types, n) for n in dir(_types) if not n.startswith("_")}
    from datetime import date
    from typing import Literal

    for n, s in named.items():
        if s["type"] == "enum":
            namespace[s["name"]] = Literal[tuple(s["symbols"])]  # type: ignore[misc]
    namespace.update(date=date, Literal=Literal)
    return avro_type, FieldInfo.from_annotation(eval(source, namespace))  # noqa: S307 - generated from our own type table


def model_drift(model: type[BaseModel], schema: Mapping[str, Any], _named: Mapping[str, Any] | None = None) -> list[str]:
    """Differences between a model and its (expanded) Avro record; empty when they agree."""
    named = _named if _named is not None else _named_types(schema, {})
    where = schema.get("name", "?")
    problems: list[str] = []
    avro_fields = {f["name"]: f for f in schema["fields"]}
    model_fields = model.model_fields
    for name in avro_fields.keys() - model_fields.keys():
        problems.append(f"{where}.{name}: in the .avsc but not in model {model.__name__}")
    for name in model_fields.keys() - avro_fields.keys():
        problems.append(f"{where}.{name}: in model {model.__name__} but not in the .avsc")
    common = [n for n in avro_fields if n in model_fields]
    if common != [n for n in model_fields if n in avro_fields]:
        problems.append(f"{where}: field order differs (avsc {common}, model {[n for n in model_fields if n in avro_fields]})")
    for name in common:
        f, mf = avro_fields[name], model_fields[name]
        path = f"{where}.{name}"
        sub, expected = _expected_field(name, f["type"], named, path)
        if expected is None:  # nested record: compare recursively
            ann = mf.annotation
            if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
                problems.append(f"{path}: the .avsc has record {sub['name']}, the model has {ann}")
            else:
                problems.extend(model_drift(ann, sub, named))
        elif (mf.annotation, mf.metadata) != (expected.annotation, expected.metadata):
            problems.append(f"{path}: type differs: avsc gives {expected.annotation} {expected.metadata}, model has {mf.annotation} {mf.metadata}")
        has_default = "default" in f
        if has_default == mf.is_required():
            problems.append(f"{path}: the .avsc {'has a default' if has_default else 'has no default'} but the model field is {'required' if mf.is_required() else 'optional'}")
        elif has_default:
            actual = mf.default_factory() if mf.default_factory is not None else mf.default  # type: ignore[call-arg]
            if actual != f["default"]:
                problems.append(f"{path}: default differs: avsc {f['default']!r}, model {actual!r}")
        if (f.get("doc") or "") != (mf.description or ""):
            problems.append(f"{path}: doc differs from the model field's description")
    return problems
