"""Import a CSV or JSONL file as events of one type.

Every row is validated on its own: a bad row goes to the error report with
its row number and the reason, the good rows are published (in batches,
each confirmed: acknowledged or durably spooled). Nothing is dropped
silently: every row is either published or in the report.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.importer.mapping import ColumnMapping
from adapters.importer.reader import SourceRow, csv_header, detect_format, read_rows
from adapters.privacy import NIK_FIELD, check_no_raw_nik
from adapters.privacy.exceptions import MissingPseudonymKeyError
from adapters.sdk import ACKED, SPOOLED, Publisher
from bus.errors import EgovBusError
from schemas import EventType, SchemaValidationError, event_type as lookup_event_type
from schemas.exceptions import format_loc


@dataclass
class RowError:
    row: int
    line: int
    error: str


@dataclass
class ImportResult:
    """Counts of one import run."""

    rows: int = 0
    published: int = 0  # acknowledged by the broker
    spooled: int = 0  # accepted into the local spool, sent when the broker is back
    errors: list[RowError] = field(default_factory=list)
    report_path: Path | None = None

    @property
    def failed(self) -> int:
        return len(self.errors)

    @property
    def accepted(self) -> int:
        return self.published + self.spooled


def _flat(loc: tuple) -> tuple:
    # Rows are flat: envelope.occurred_at is the occurred_at column.
    return loc[1:] if len(loc) >= 2 and loc[0] == "envelope" else loc


def describe(exc: Exception) -> str:
    """A one-line reason naming each bad field."""
    if isinstance(exc, SchemaValidationError):
        return "; ".join(f"{format_loc(_flat(e['loc']))}: {e['msg']} [rule: {e['rule']}]" for e in exc.errors)
    return str(exc)


class Importer:
    """Reads, validates and publishes the rows of one file."""

    def __init__(
        self,
        publisher: Publisher,
        event_type: EventType | str,
        mapping: ColumnMapping | None = None,
        *,
        region_code: str | None = None,
        source_system: str | None = None,
        batch_size: int = 500,
    ) -> None:
        self.publisher = publisher
        self.event_type = lookup_event_type(event_type) if isinstance(event_type, str) else event_type
        self.mapping = mapping or ColumnMapping()
        self.region_code = region_code
        self.source_system = source_system
        self.batch_size = batch_size

    def run(
        self,
        path: Path | str,
        *,
        fmt: str | None = None,
        delimiter: str | None = None,
        report_path: Path | str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Import ``path``; writes the error report when any row failed."""
        path = Path(path)
        fmt = detect_format(path, fmt)
        if fmt == "csv":
            header, delimiter = csv_header(path, delimiter)
            self.mapping.check(self.event_type, header)
        else:
            self.mapping.check(self.event_type)
        result = ImportResult()
        batch: list[tuple[SourceRow, Any]] = []
        for source in read_rows(path, fmt, delimiter):
            result.rows += 1
            event = self._event(source, result)
            if event is not None:
                batch.append((source, event))
            if len(batch) >= self.batch_size:
                self._publish(batch, result)
                batch = []
            if progress is not None:
                progress(1)
        if batch:
            self._publish(batch, result)
        if result.errors:
            result.report_path = Path(report_path) if report_path else path.with_name(path.name + ".errors.csv")
            write_report(result.report_path, result.errors)
        return result

    def _event(self, source: SourceRow, result: ImportResult) -> Any:
        if source.error is not None or source.data is None:
            result.errors.append(RowError(source.row, source.line, source.error or "empty record"))
            return None
        try:
            fields = self.mapping.apply(source.data)
            # Before pseudonymizing: only the `nik` column may hold a NIK (RawNikError names the column).
            check_no_raw_nik({k: v for k, v in fields.items() if k != NIK_FIELD})
            return self.publisher.build(
                self.event_type, fields, region_code=fields.pop("region_code", None) or self.region_code,
                source_system=fields.pop("source_system", None) or self.source_system,
            )
        except MissingPseudonymKeyError:
            raise  # configuration, not a row problem: stop the import
        except EgovBusError as exc:
            result.errors.append(RowError(source.row, source.line, describe(exc)))
            return None

    def _publish(self, batch: list[tuple[SourceRow, Any]], result: ImportResult) -> None:
        try:
            outcomes = self.publisher.publish_many_acked([event for _, event in batch])
        except EgovBusError as exc:
            for source, _ in batch:
                result.errors.append(RowError(source.row, source.line, f"not published: {exc}"))
            return
        for (source, _), outcome in zip(batch, outcomes):
            if outcome.outcome == ACKED:
                result.published += 1
            elif outcome.outcome == SPOOLED:
                result.spooled += 1
            else:
                result.errors.append(RowError(source.row, source.line, f"not published: {outcome.error}"))


def write_report(path: Path, errors: list[RowError]) -> None:
    """CSV ``row,line,error``, sorted by row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "line", "error"])
        for error in sorted(errors, key=lambda e: e.row):
            writer.writerow([error.row, error.line, error.error])
