"""Unit tests for column mappings and the file readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.importer import ColumnMapping, InputFileError, MappingError, read_rows
from adapters.importer.reader import csv_header
from schemas import event_type

BUDGET = event_type("BudgetAllocated")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_mapping_renames_columns_adds_constants_and_splits_lists(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", """
event_type: DatasetPublished
columns: {dataset_id: kode, title: judul}
constants: {license: CC-BY-4.0}
split: {keywords: ";"}
ignore: [catatan]
""")
    mapping = ColumnMapping.load(path)
    assert mapping.event_type == "DatasetPublished"
    row = {"kode": "DS-1", "judul": "Data", "keywords": "a; b;;c", "catatan": "x", "url": " "}
    assert mapping.apply(row) == {"license": "CC-BY-4.0", "dataset_id": "DS-1", "title": "Data",
                                  "keywords": ["a", "b", "c"]}


def test_mapping_checks_targets_and_unmapped_columns(tmp_path: Path) -> None:
    mapping = ColumnMapping(columns={"amount": "nilai", "nonsense": "x"})
    with pytest.raises(MappingError, match="nonsense: not field"):
        mapping.check(BUDGET)
    mapping = ColumnMapping(columns={"amount": "nilai"})
    mapping.check(BUDGET, ["nilai", "allocation_id", "occurred_at", "nik"][:3])
    with pytest.raises(MappingError, match="catatan"):
        mapping.check(BUDGET, ["nilai", "catatan"])
    with pytest.raises(MappingError, match="no column"):
        mapping.check(BUDGET, ["amount"])
    with pytest.raises(MappingError, match="nik"):
        ColumnMapping().check(BUDGET, ["nik"])  # budget events carry no person
    ColumnMapping().check(event_type("BirthRegistered"), ["nik", "occurred_at", "registration_delay_days"])


def test_mapping_file_errors(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="unknown key"):
        ColumnMapping.load(write(tmp_path, "a.yaml", "colums: {}\n"))
    with pytest.raises(MappingError, match="not valid YAML"):
        ColumnMapping.load(write(tmp_path, "b.yaml", "a: [\n"))


def test_csv_rows_carry_row_and_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", 'a;b\n1;2\n\n"multi\nline";3\n4\n')
    header, delimiter = csv_header(path)
    assert (header, delimiter) == (["a", "b"], ";")
    rows = list(read_rows(path, "csv", delimiter))
    assert [(r.row, r.line) for r in rows] == [(1, 2), (2, 4), (3, 6)]
    assert rows[1].data == {"a": "multi\nline", "b": "3"}
    assert rows[2].error == "has 1 cells, the header has 2"


def test_jsonl_rows_report_bad_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "x.jsonl", '{"a": 1}\n\nnot json\n[1]\n{"b": 2}\n')
    rows = list(read_rows(path, "jsonl"))
    assert [(r.row, r.line, r.error is None) for r in rows] == [(1, 1, True), (2, 3, False), (3, 4, False),
                                                                 (4, 5, True)]


def test_csv_header_problems(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="duplicate"):
        csv_header(write(tmp_path, "d.csv", "a,a\n1,2\n"))
    with pytest.raises(InputFileError, match="empty"):
        csv_header(write(tmp_path, "e.csv", ""))
