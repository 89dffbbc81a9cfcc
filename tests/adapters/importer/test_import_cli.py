"""``egov-bus import`` end to end: the real CLI, the real broker, an error report."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest

from adapters.privacy import Pseudonymizer
from bus.serde import AvroDeserializer
from tests.fixtures.adapters import TEST_PSEUDONYM_KEY, end_offsets, read_records, run_cli

pytestmark = pytest.mark.integration

HEADER = ["region_code", "source_system", "occurred_at", "allocation_id", "fiscal_year", "agency_code",
          "program_code", "activity_code", "sub_activity_code", "amount"]
# row number (1-based, header excluded) -> (column, bad value, what the report must say)
BAD_ROWS = {
    7: ("amount", "-10.00", "amount"),
    55: ("fiscal_year", "1890", "fiscal_year"),
    101: ("occurred_at", "", "occurred_at"),
    230: ("occurred_at", "2025-03-01 10:00:00", "occurred_at"),
    333: ("region_code", "99.99", "region_code"),
    450: ("amount", "12.345", "amount"),
    512: ("allocation_id", "3201014501900001", "allocation_id"),
    678: ("amount", "lima juta", "amount"),
    801: ("agency_code", "", "agency_code"),
    999: ("fiscal_year", "dua ribu", "fiscal_year"),
}


def budget_row(i: int, source: str) -> dict[str, str]:
    return {
        "region_code": ["32.01", "33.01", "35", "11.01"][i % 4], "source_system": source,
        "occurred_at": f"2025-03-01T08:{i // 60 % 60:02d}:{i % 60:02d}+07:00", "allocation_id": f"DPA-{i:05d}",
        "fiscal_year": "2025", "agency_code": "1.02.0.00.0.00.01.0000", "program_code": "1.02.02",
        "activity_code": "1.02.02.2.01", "sub_activity_code": "" if i % 3 else "1.02.02.2.01.0001",
        "amount": f"{1_000_000 + i}.50",
    }


def test_thousand_rows_with_ten_bad_ones(adapter_settings, theme_topics, registry, tmp_path: Path) -> None:
    source = f"imp-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "alokasi.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        for i in range(1, 1001):
            row = budget_row(i, source)
            if i in BAD_ROWS:
                column, value, _ = BAD_ROWS[i]
                row[column] = value
            writer.writerow(row)
    since = end_offsets(adapter_settings, "egov.budgeting.events")

    result = run_cli(["import", str(path), "--event-type", "BudgetAllocated", "--batch-size", "200"], adapter_settings)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "1000 rows: 990 published, 0 spooled, 10 failed" in result.stdout
    report = list(csv.DictReader(open(tmp_path / "alokasi.csv.errors.csv", encoding="utf-8")))
    assert [int(r["row"]) for r in report] == sorted(BAD_ROWS)
    for r in report:
        row = int(r["row"])
        assert int(r["line"]) == row + 1  # the header is line 1
        assert BAD_ROWS[row][2] in r["error"], r
    assert "3201014501900001" not in (tmp_path / "alokasi.csv.errors.csv").read_text()

    mine = lambda got: [x for x in got if x.headers["ce_source"].decode().endswith("/" + source)]  # noqa: E731
    records = read_records(adapter_settings, "egov.budgeting.events", since=since,
                           until=lambda got: len(mine(got)) >= 990)
    ours = mine(records)
    assert len({r.headers["ce_id"] for r in ours}) == 990
    decode = AvroDeserializer(registry)
    allocation_ids = {decode(r.value).value["allocation_id"] for r in ours}
    assert allocation_ids == {f"DPA-{i:05d}" for i in range(1, 1001) if i not in BAD_ROWS}


def test_jsonl_with_niks_and_a_mapping(adapter_settings, theme_topics, registry, tmp_path: Path) -> None:
    source = f"siak-{uuid.uuid4().hex[:8]}"
    niks = [f"320101{(i % 28) + 41:02d}0125{i:04d}" for i in range(1, 41)]  # girls born January 2025
    path = tmp_path / "lahir.jsonl"
    path.write_text("".join(json.dumps({"NIK": nik, "tgl": "2025-03-01T08:00:00Z", "terlambat": i % 30,
                                        "petugas": "loket 2"}) + "\n" for i, nik in enumerate(niks)))
    mapping = tmp_path / "lahir.yaml"
    mapping.write_text(f"""
event_type: BirthRegistered
columns: {{nik: NIK, occurred_at: tgl, registration_delay_days: terlambat}}
constants: {{region_code: "32.01", source_system: {source}}}
ignore: [petugas]
""")
    since = end_offsets(adapter_settings, "egov.population.events")
    result = run_cli(["import", str(path), "--mapping", str(mapping)], adapter_settings)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "40 rows: 40 published" in result.stdout
    records = read_records(adapter_settings, "egov.population.events", since=since,
                           until=lambda got: sum(r.headers["ce_source"].decode().endswith(source) for r in got) >= 40)
    ours = [r for r in records if r.headers["ce_source"].decode().endswith(source)]
    pseudonymizer = Pseudonymizer(TEST_PSEUDONYM_KEY)
    decode = AvroDeserializer(registry)
    assert {decode(r.value).value["nik_pseudonym"] for r in ours} == {pseudonymizer.pseudonym(n) for n in niks}
    for record in ours:
        assert not any(nik.encode() in record.value for nik in niks)


def test_import_without_pseudonym_key_refuses_nik_files(adapter_settings, tmp_path: Path) -> None:
    path = tmp_path / "lahir.jsonl"
    path.write_text(json.dumps({"nik": "3201014501250001", "occurred_at": "2025-03-01T08:00:00Z",
                                "region_code": "32.01", "registration_delay_days": 1}) + "\n")
    settings = adapter_settings.model_copy(update={"pseudonym_key": None})
    result = run_cli(["import", str(path), "--event-type", "BirthRegistered"], settings)
    assert result.returncode == 1
    assert "EGOV_PSEUDONYM_KEY" in result.stderr


def test_unmapped_column_stops_before_publishing(adapter_settings, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("region_code,occurred_at,complaint_id,category,channel,is_anonymous,keterangan\n")
    result = run_cli(["import", str(path), "--event-type", "ComplaintReceived"], adapter_settings)
    assert result.returncode == 1
    assert "keterangan" in result.stderr
