"""Column mapping from a regional spreadsheet to an event type.

A mapping file (YAML)::

    event_type: BudgetAllocated        # optional; --event-type wins
    columns:                           # event field: source column
      allocation_id: id_alokasi
      amount: nilai
      occurred_at: tanggal
    constants:                         # the same value for every row
      source_system: sipd
      region_code: "32.01"
    split:                             # list fields: separator inside one cell
      keywords: ";"
    ignore: [catatan, petugas]         # source columns deliberately left out

Without a mapping, source columns are taken as field names. Envelope fields
(``region_code``, ``source_system``, ``occurred_at``, ``event_id``) and
``nik`` (pseudonymized before publishing) may be columns too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from adapters.importer.exceptions import MappingError
from adapters.privacy import NIK_FIELD, PERSON_FIELDS
from schemas import EventType

ENVELOPE_INPUTS = ("region_code", "source_system", "occurred_at", "event_id")
_KEYS = {"event_type", "columns", "constants", "split", "ignore"}


@dataclass
class ColumnMapping:
    """How one source row becomes the fields of one event."""

    event_type: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # field -> source column
    constants: dict[str, Any] = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)
    ignore: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path | str) -> "ColumnMapping":
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise MappingError(f"cannot read mapping {path}: {exc.strerror}", path=str(path)) from exc
        except yaml.YAMLError as exc:
            raise MappingError(f"mapping {path} is not valid YAML: {exc}", path=str(path)) from exc
        if not isinstance(data, dict):
            raise MappingError(f"mapping {path}: expected a YAML mapping at the top", path=str(path))
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise MappingError(
                f"mapping {path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}",
                path=str(path),
            )
        for key in ("columns", "constants", "split"):
            if not isinstance(data.get(key) or {}, dict):
                raise MappingError(f"mapping {path}: '{key}' must be a mapping", path=str(path))
        ignore = data.get("ignore") or []
        if not isinstance(ignore, list):
            raise MappingError(f"mapping {path}: 'ignore' must be a list of column names", path=str(path))
        return cls(
            event_type=data.get("event_type"),
            columns={str(k): str(v) for k, v in (data.get("columns") or {}).items()},
            constants=dict(data.get("constants") or {}),
            split={str(k): str(v) for k, v in (data.get("split") or {}).items()},
            ignore={str(c) for c in ignore},
        )

    def check(self, event_type: EventType, source_columns: Iterable[str] | None = None) -> None:
        """Refuse targets that are not fields, and (for CSV) source columns nobody maps.

        An unmapped column would otherwise be dropped silently or fail every row.
        """
        allowed = _allowed_fields(event_type)
        targets = set(self.columns) | set(self.constants) | set(self.split)
        bad = sorted(t for t in targets if t not in allowed)
        if bad:
            raise MappingError(
                f"{', '.join(bad)}: not field(s) of {event_type.name}; its fields: {', '.join(sorted(allowed))}"
            )
        if source_columns is None:
            return
        columns = list(source_columns)
        mapped_sources = set(self.columns.values())
        missing = sorted(set(mapped_sources) - set(columns))
        if missing:
            raise MappingError(f"the input has no column(s) {', '.join(missing)} named in the mapping")
        mapped_fields = set(self.columns)
        unused = [
            c for c in columns
            if c not in mapped_sources and c not in self.ignore and (c not in allowed or c in mapped_fields)
        ]
        if unused:
            raise MappingError(
                f"column(s) {', '.join(unused)} are not fields of {event_type.name}; map them "
                "(mapping 'columns') or leave them out on purpose (mapping 'ignore')",
                columns=unused,
            )

    def apply(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The event fields of one source row (empty cells are absent)."""
        out: dict[str, Any] = dict(self.constants)
        sources = set(self.columns.values())
        for column, value in row.items():
            if column in self.ignore or column in sources:
                continue
            if not _empty(value):
                out[column] = value
        for target, column in self.columns.items():
            value = row.get(column)
            if not _empty(value):
                out[target] = value
        for target, separator in self.split.items():
            value = out.get(target)
            if isinstance(value, str):
                out[target] = [part.strip() for part in value.split(separator) if part.strip()]
        return out


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _allowed_fields(event_type: EventType) -> set[str]:
    fields = set(event_type.model.model_fields) - {"envelope"}
    fields |= set(ENVELOPE_INPUTS)
    if "nik_pseudonym" in fields:
        fields.add(NIK_FIELD)
        fields |= {f for f in PERSON_FIELDS if f in event_type.model.model_fields}
    return fields
