"""Loading the ``.avsc`` files and expanding shared named types.

Layout: ``schemas/avro/common/*.avsc`` hold the shared named types (the
``Envelope`` record, the ``Sex`` enum); ``schemas/avro/<theme>/<EventName>.avsc``
hold one event record each, referring to the shared types by full name. The
registry and fastavro get the *expanded* schema: each shared type inlined at its
first use (Avro allows a named type to be defined only once per schema).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schemas.exceptions import SchemaDefinitionError

AVRO_DIR = Path(__file__).resolve().parent / "avro"
COMMON = "common"
NAMESPACE_ROOT = "id.go.egov"

# Avro primitive type names (never references to named types).
PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


def load_avsc(path: Path) -> dict[str, Any]:
    """Parse one ``.avsc`` file (JSON); errors name the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaDefinitionError(f"{path}: not a readable JSON schema: {exc}", path=str(path)) from exc
    if not isinstance(data, dict) or "name" not in data:
        raise SchemaDefinitionError(f"{path}: must hold one named Avro type", path=str(path))
    return data


def full_name(schema: Mapping[str, Any]) -> str:
    name = schema["name"]
    if "." in name:
        return name
    ns = schema.get("namespace")
    return f"{ns}.{name}" if ns else name


def common_types(avro_dir: Path = AVRO_DIR) -> dict[str, dict[str, Any]]:
    """Shared named types by full name (``id.go.egov.common.Envelope`` ...)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((avro_dir / COMMON).glob("*.avsc")):
        schema = load_avsc(path)
        name = full_name(schema)
        if schema["name"] != path.stem or schema.get("namespace") != f"{NAMESPACE_ROOT}.{COMMON}":
            raise SchemaDefinitionError(
                f"{path}: must define {NAMESPACE_ROOT}.{COMMON}.{path.stem}, defines {name}", path=str(path)
            )
        out[name] = schema
    return out


def event_files(avro_dir: Path = AVRO_DIR) -> list[tuple[str, Path]]:
    """``(theme, path)`` of every event schema, sorted by theme directory then file name."""
    return [
        (d.name, p)
        for d in sorted(avro_dir.iterdir())
        if d.is_dir() and d.name != COMMON
        for p in sorted(d.glob("*.avsc"))
    ]


def expand(schema: Mapping[str, Any], named: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A copy of ``schema`` with references to ``named`` types inlined at their first use."""
    defined: set[str] = set()

    def walk(node: Any, namespace: str | None) -> Any:
        if isinstance(node, str):
            ref = node if "." in node or node in PRIMITIVES else (f"{namespace}.{node}" if namespace else node)
            if ref in named and ref not in defined:
                defined.add(ref)
                target = named[ref]
                return walk(copy.deepcopy(dict(target)), target.get("namespace"))
            return node
        if isinstance(node, list):
            return [walk(n, namespace) for n in node]
        if isinstance(node, dict):
            node = dict(node)
            kind = node.get("type")
            if kind in ("record", "error", "enum", "fixed") and "name" in node:
                defined.add(full_name({**node, "namespace": node.get("namespace", namespace)}))
                namespace = node.get("namespace", namespace)
            if kind in ("record", "error"):
                node["fields"] = [{**f, "type": walk(f["type"], namespace)} for f in node.get("fields", [])]
            elif kind == "array":
                node["items"] = walk(node["items"], namespace)
            elif kind == "map":
                node["values"] = walk(node["values"], namespace)
            elif isinstance(kind, (dict, list)):
                node["type"] = walk(kind, namespace)
            return node
        return node

    return walk(dict(schema), schema.get("namespace"))
