"""Describe how a schema changed and whether the change breaks the project's evolution rules.

The registry (BACKWARD per subject) is the authority on compatibility, but its
compatibility test answers only yes or no. :func:`changes` names each change
(field added, removed, type changed, enum symbol removed ...) so that
``egov-bus schemas check`` can say *what* is incompatible.

Rules, with ``old`` the registered (writer) schema and ``new`` the working tree
(reader):

* BACKWARD (Avro schema resolution, new reader reads old data): a field added
  without a default, a type changed other than by an Avro promotion
  (int -> long -> float -> double, string <-> bytes), an enum symbol removed,
  a logical type or decimal precision/scale changed: breaking.
* Project rule on top: a field removed that had no default is breaking too,
  because consumers still reading with the registered schema (reader schemas
  are cached per event type) could not decode new records. Remove a field only
  after giving it a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}
_NAMED = ("record", "error", "enum", "fixed")


@dataclass(frozen=True)
class Change:
    """One difference between two versions of a schema."""

    path: str
    message: str
    breaking: bool

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _full(node: Mapping[str, Any], namespace: str | None) -> str:
    name = node["name"]
    if "." in name:
        return name
    ns = node.get("namespace", namespace)
    return f"{ns}.{name}" if ns else name


def _names(schema: Any, namespace: str | None = None, out: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    if isinstance(schema, list):
        for s in schema:
            _names(s, namespace, out)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in _NAMED:
            full = _full(schema, namespace)
            out[full] = schema
            namespace = full.rsplit(".", 1)[0] if "." in full else None
        for f in schema.get("fields", []) if kind in ("record", "error") else []:
            _names(f["type"], namespace, out)
        for key in ("items", "values"):
            if key in schema:
                _names(schema[key], namespace, out)
        if isinstance(kind, (dict, list)):
            _names(kind, namespace, out)
    return out


class _Resolver:
    def __init__(self, schema: Any) -> None:
        self.names = _names(schema)

    def resolve(self, t: Any) -> Any:
        """Inline a named reference; unwrap ``{"type": "int"}`` without logical type."""
        if isinstance(t, str) and t in self.names:
            return self.names[t]
        if isinstance(t, str):
            for full, node in self.names.items():
                if full.rsplit(".", 1)[-1] == t:
                    return node
        if isinstance(t, dict) and not isinstance(t.get("type"), (dict, list)) and t.get("type") not in _NAMED + ("array", "map"):
            if "logicalType" not in t:
                return t["type"]
        return t


def _describe(t: Any) -> str:
    if isinstance(t, str):
        return t
    if isinstance(t, list):
        return "[" + ", ".join(_describe(m) for m in t) + "]"
    if isinstance(t, dict):
        if t.get("type") in _NAMED:
            return f"{t['type']} {t['name']}"
        if "logicalType" in t:
            extra = f"({t.get('precision')},{t.get('scale', 0)})" if t["logicalType"] == "decimal" else ""
            return f"{t['type']} {t['logicalType']}{extra}"
        if t.get("type") == "array":
            return f"array<{_describe(t['items'])}>"
        if t.get("type") == "map":
            return f"map<{_describe(t['values'])}>"
    return str(t)


def _kind(t: Any) -> str:
    if isinstance(t, str):
        return t
    if isinstance(t, list):
        return "union"
    return t.get("type", "?") if isinstance(t, dict) else "?"


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new`` (both record schemas, expanded or not)."""
    out: list[Change] = []
    _compare(_Resolver(old), _Resolver(new), old, new, old.get("name", "record"), out, set())
    return out


def breaking(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Only the breaking changes."""
    return [c for c in changes(old, new) if c.breaking]


def _matches(ro: _Resolver, rn: _Resolver, w: Any, r: Any) -> bool:
    w, r = ro.resolve(w), rn.resolve(r)
    kw, kr = _kind(w), _kind(r)
    if isinstance(w, dict) and isinstance(r, dict) and kw in _NAMED and kr in _NAMED:
        return kw == kr and w["name"].rsplit(".", 1)[-1] == r["name"].rsplit(".", 1)[-1]
    if isinstance(w, dict) and "logicalType" in w or isinstance(r, dict) and "logicalType" in r:
        return w == r
    if kw == kr:
        return True
    return kr in _PROMOTIONS.get(kw, set())


def _compare(ro: _Resolver, rn: _Resolver, w: Any, r: Any, path: str, out: list[Change], seen: set[str]) -> None:
    w, r = ro.resolve(w), rn.resolve(r)
    kw, kr = _kind(w), _kind(r)
    if kw == "union" or kr == "union":
        wb = w if kw == "union" else [w]
        rb = r if kr == "union" else [r]
        for branch in wb:
            if not any(_matches(ro, rn, branch, cand) for cand in rb):
                out.append(Change(path, f"type changed from {_describe(w)} to {_describe(r)} ({_describe(branch)} values no longer fit)", True))
                return
        if _describe(w) != _describe(r):
            out.append(Change(path, f"type widened from {_describe(w)} to {_describe(r)}", False))
        for branch in wb:  # recurse into the named branches that matched
            for cand in rb:
                if _kind(ro.resolve(branch)) in ("record", "enum", "array", "map") and _matches(ro, rn, branch, cand):
                    _compare(ro, rn, branch, cand, path, out, seen)
                    break
        return
    if not _matches(ro, rn, w, r):
        out.append(Change(path, f"type changed from {_describe(w)} to {_describe(r)}", True))
        return
    if kw != kr:
        out.append(Change(path, f"type promoted from {_describe(w)} to {_describe(r)}", False))
        return
    if kw in ("record", "error"):
        key = f"{w['name']}@{path}"
        if key in seen:
            return
        seen.add(key)
        wf = {f["name"]: f for f in w.get("fields", [])}
        rf = {f["name"]: f for f in r.get("fields", [])}
        for name, f in rf.items():
            p = f"{path}.{name}"
            if name not in wf:
                if "default" in f:
                    out.append(Change(p, "field added with a default", False))
                else:
                    out.append(Change(p, "field added without a default (records written before cannot be read)", True))
            else:
                _compare(ro, rn, wf[name]["type"], f["type"], p, out, seen)
                if "default" in wf[name] and "default" not in f:
                    out.append(Change(p, "default removed", False))
        for name, f in wf.items():
            if name not in rf:
                p = f"{path}.{name}"
                if "default" in f:
                    out.append(Change(p, "field removed (it had a default)", False))
                else:
                    out.append(Change(p, "field removed without a default (readers on the registered schema cannot decode new records)", True))
    elif kw == "enum":
        lost = [s for s in w.get("symbols", []) if s not in r.get("symbols", [])]
        if lost and "default" not in r:
            out.append(Change(path, f"enum {r['name']} lost symbols {lost}", True))
        gained = [s for s in r.get("symbols", []) if s not in w.get("symbols", [])]
        if gained:
            out.append(Change(path, f"enum {r['name']} gained symbols {gained}", False))
    elif kw == "array":
        _compare(ro, rn, w["items"], r["items"], path + "[]", out, seen)
    elif kw == "map":
        _compare(ro, rn, w["values"], r["values"], path + "{}", out, seen)
