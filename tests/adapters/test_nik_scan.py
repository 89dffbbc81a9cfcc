"""No raw NIK on the bus: after the simulator and the importer ran, scan every theme topic's bytes."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from tests.fixtures.adapters import read_records, run_cli

pytestmark = pytest.mark.integration

# A NIK is 16 digits. Hex identifiers -- pseudonyms (64 hex), trace ids in traceparent (32 hex) --
# hold 16 digits in a row now and then by chance, so runs of 32+ hex characters with at least one
# letter are blanked before the search (a run of digits alone is never blanked).
HEX_ID = re.compile(rb"(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{32,}")
SIXTEEN_DIGITS = re.compile(rb"\d{16}")


def test_theme_topics_carry_no_raw_nik(adapter_settings, theme_topics, tmp_path: Path) -> None:
    simulated = run_cli(["simulate", "--rate", "1500", "--duration", "2", "--seed", "4242"], adapter_settings)
    assert simulated.returncode == 0, simulated.stdout + simulated.stderr
    assert "simulated 3000 events" in simulated.stdout

    source = f"scan-{uuid.uuid4().hex[:6]}"
    niks = [f"3201{d:02d}{day:02d}0385{i:04d}" for i, (d, day) in enumerate(
        [(1, 12), (2, 55), (3, 27), (4, 68), (5, 3)] * 20, start=1)]
    rows = tmp_path / "pindah.jsonl"
    rows.write_text("".join(json.dumps({
        "region_code": "32.01", "source_system": source, "occurred_at": "2025-03-01T08:00:00Z", "nik": nik,
        "district_code": f"32.01.{(i % 5) + 1:02d}", "destination_district_code": "33.01.01",
        "move_type": "antar provinsi", "family_members": i % 4}) + "\n" for i, nik in enumerate(niks)))
    imported = run_cli(["import", str(rows), "--event-type", "ResidenceMoved"], adapter_settings)
    assert imported.returncode == 0, imported.stdout + imported.stderr

    scanned = 0
    for topic in theme_topics:
        for record in read_records(adapter_settings, topic):
            scanned += 1
            for raw in (record.value or b"", (record.key or "").encode(), *record.headers.values()):
                blanked = HEX_ID.sub(b"-", raw)
                match = SIXTEEN_DIGITS.search(blanked)
                assert match is None, f"{topic}@{record.partition}:{record.offset} holds {match.group()!r}"
                assert not any(nik.encode() in raw for nik in niks)
    assert scanned >= 3000 + len(niks)
