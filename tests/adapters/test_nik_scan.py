"""No raw NIK on the bus: after the simulator and the importer ran, scan every record on every theme topic.

Each value is decoded and checked with the bus's one raw-NIK rule (:mod:`schemas.privacy`, the rule the
central transform applies), the key and every header too; and none of the imported NIKs may appear in
any byte.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from bus.serde import AvroDeserializer
from schemas.exceptions import format_loc
from schemas.privacy import find_raw_nik, holds_raw_nik
from tests.fixtures.adapters import read_records, run_cli

pytestmark = pytest.mark.integration


def test_theme_topics_carry_no_raw_nik(adapter_settings, theme_topics, registry, tmp_path: Path) -> None:
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

    decode = AvroDeserializer(registry)
    scanned = 0
    for topic in theme_topics:
        for record in read_records(adapter_settings, topic):
            scanned += 1
            where = f"{topic}@{record.partition}:{record.offset}"
            found = find_raw_nik(decode(record.value, topic).value)
            assert found is None, f"{where}: {format_loc(found)} holds a raw NIK"
            for name, text in [("key", record.key or ""), *((k, v.decode()) for k, v in record.headers.items())]:
                assert not holds_raw_nik(text), f"{where}: {name} holds a raw NIK"
            for raw in (record.value or b"", (record.key or "").encode(), *record.headers.values()):
                assert not any(nik.encode() in raw for nik in niks), where
    assert scanned >= 3000 + len(niks)
