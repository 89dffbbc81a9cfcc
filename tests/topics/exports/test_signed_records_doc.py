"""docs/events.md, "Signed records": the written definition agrees with the published test vector."""

from __future__ import annotations

import json
import re
from pathlib import Path

from topics.exports.signed_records_doc import GO_VERIFIER, VECTOR, signed_records_markdown

REPO = Path(__file__).resolve().parents[3]


def _text() -> str:
    return "\n".join(signed_records_markdown())


def test_section_points_at_files_that_exist():
    assert (REPO / VECTOR).is_file()
    assert (REPO / GO_VERIFIER).is_file()
    assert _text().startswith("## Signed records\n")


def test_documented_domains_and_example_are_the_vectors():
    vector = json.loads((REPO / VECTOR).read_text(encoding="utf-8"))
    domains = [d.replace("\\n", "\n").encode() for d in re.findall(r'"(egov-bus/[a-z]+/v1\\n)"', _text())]
    assert domains == [b"egov-bus/record/v1\n", b"egov-bus/batch/v1\n"]
    record, batch = domains
    assert all(bytes.fromhex(r["leaf_input_hex"]).startswith(record) for r in vector["records"])
    message = bytes.fromhex(vector["batch"]["signed_message_hex"])
    assert message.startswith(batch) and len(message) == 54  # the size the section states
    assert f"e.g. `{vector['key']['key_id']}`" in _text()
