"""Rows of a CSV or JSONL file, with their row numbers."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.importer.exceptions import InputFileError

FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class SourceRow:
    """One input record: ``row`` counts records from 1 (the CSV header is not a row), ``line`` is
    the physical line where the record starts. ``error`` is set when the record itself is unreadable."""

    row: int
    line: int
    data: dict[str, Any] | None
    error: str | None = None


def detect_format(path: Path, explicit: str | None = None) -> str:
    if explicit:
        if explicit not in FORMATS:
            raise InputFileError(f"unknown format {explicit!r}; use csv or jsonl")
        return explicit
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "tsv", "txt"):
        return "csv"
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    raise InputFileError(f"{path}: cannot tell the format from the extension; pass --format csv|jsonl")


def csv_header(path: Path, delimiter: str | None = None) -> tuple[list[str], str]:
    """The header row and the delimiter (sniffed among , ; tab | when not given)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            first = handle.readline()
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path} is not UTF-8 text: {exc}", path=str(path)) from exc
    if not first.strip():
        raise InputFileError(f"{path} is empty: a CSV needs a header row", path=str(path))
    if delimiter is None:
        counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
        delimiter = max(counts, key=counts.get)  # type: ignore[arg-type]
    header = next(csv.reader([first], delimiter=delimiter))
    header = [h.strip() for h in header]
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates or "" in header:
        raise InputFileError(
            f"{path}: the header has {'duplicate column(s) ' + ', '.join(duplicates) if duplicates else 'an empty column name'}",
            path=str(path),
        )
    return header, delimiter


def count_rows(path: Path, fmt: str, delimiter: str | None = None) -> int:
    """Records in the file (for the progress bar)."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        if fmt == "csv":
            return max(0, sum(1 for _ in csv.reader(handle, delimiter=delimiter or ",")) - 1)
        return sum(1 for line in handle if line.strip())


def read_rows(path: Path, fmt: str, delimiter: str | None = None) -> Iterator[SourceRow]:
    """Records of ``path``; a malformed record comes back with ``error`` set instead of stopping."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc
    with handle:
        if fmt == "csv":
            yield from _csv_rows(handle, delimiter or ",")
        else:
            yield from _jsonl_rows(handle)


def _csv_rows(handle: Any, delimiter: str) -> Iterator[SourceRow]:
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    row_number = 0
    line = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            row_number += 1
            yield SourceRow(row_number, line, None, f"unreadable CSV record: {exc}")
            line = reader.line_num + 1
            continue
        if not values or all(not v.strip() for v in values):
            line = reader.line_num + 1
            continue  # blank line
        row_number += 1
        if len(values) != len(header):
            yield SourceRow(row_number, line, None, f"has {len(values)} cells, the header has {len(header)}")
        else:
            yield SourceRow(row_number, line, dict(zip(header, values)))
        line = reader.line_num + 1


def _jsonl_rows(handle: Any) -> Iterator[SourceRow]:
    row_number = 0
    for line_number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        row_number += 1
        try:
            data = json.loads(line)
        except ValueError as exc:
            yield SourceRow(row_number, line_number, None, f"not valid JSON: {exc}")
            continue
        if not isinstance(data, dict):
            yield SourceRow(row_number, line_number, None, f"expected a JSON object, got {type(data).__name__}")
            continue
        yield SourceRow(row_number, line_number, data)
