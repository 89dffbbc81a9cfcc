"""The raw-NIK rule of schemas.privacy: the shared table, the byte pre-filter, the message."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.privacy import (
    NIK_FIELD,
    RAW_NIK_MESSAGE,
    find_raw_nik,
    holds_raw_nik,
    may_hold_raw_nik,
    raw_nik_message,
)
from tests.schemas.nik_cases import CASES, NIK, NikCase, refused_ids

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_rule_refuses_exactly_the_table_rows(case: NikCase) -> None:
    assert find_raw_nik(case.value) == case.refused_at


def test_the_table_covers_both_outcomes() -> None:
    assert len(refused_ids()) == 16 and len(CASES) - len(refused_ids()) == 17


@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.value, str)], ids=lambda c: c.id)
def test_the_pre_filter_never_misses_a_refused_string(case: NikCase) -> None:
    # Avro writes a string as its UTF-8 bytes: the pre-filter sees what the rule sees.
    if case.refused:
        assert may_hold_raw_nik(case.value.encode())
    assert holds_raw_nik(case.value) is case.refused


@given(st.text(alphabet=st.sampled_from("0123456789abcdefXK .-:３\n"), max_size=80))
def test_pre_filter_and_rule_agree_on_any_text(text: str) -> None:
    if holds_raw_nik(text):
        assert may_hold_raw_nik(text.encode())
    if not may_hold_raw_nik(text.encode()):
        assert not holds_raw_nik(text)


@given(st.binary(min_size=1, max_size=64))
def test_digests_and_trace_ids_are_never_refused(data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    trace = hashlib.md5(data).hexdigest()
    assert find_raw_nik({"nik_pseudonym": digest, "checksum": f"sha256:{digest}", "trace": f"00-{trace}-01"}) is None


def test_pre_filter_on_bytes_around_the_threshold() -> None:
    assert may_hold_raw_nik(b"\x00\x02" + b"1" * 16 + b"\xff")
    assert not may_hold_raw_nik(b"1" * 15 + b"\x00" + b"1" * 15)
    assert not may_hold_raw_nik(b"")


def test_the_message_names_the_path_and_never_the_value() -> None:
    message = raw_nik_message(("items", 1), "BudgetAllocated.")
    assert message == f"BudgetAllocated.items[1]: {RAW_NIK_MESSAGE}"
    assert RAW_NIK_MESSAGE == (
        "holds 16 or more digits in a row, which looks like a raw NIK/NIP; "
        "send a person's NIK in the `nik` field so it is pseudonymized"
    )
    assert NIK not in message and NIK_FIELD == "nik"


def test_one_definition_of_the_pattern_and_of_the_pre_filter() -> None:
    # Issue 11: the rule lived in three modules with three meanings. Only schemas/privacy.py
    # may define an unanchored digit-run pattern or the digits -> 0x00 translation table (a
    # whole-value NIK shape such as the gateway's "^[0-9]{16}$" for the `nik` input is another rule).
    pattern = re.compile(
        r"(?<!\^)(\\d|\[0-9\])\{16|RAW_NIK_MIN_DIGITS\}|maketrans\(b\"0123456789\"|0x30 <= i <= 0x39"
    )
    found = []
    for package in ("schemas", "bus", "topics", "adapters", "processors"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if pattern.search(path.read_text(encoding="utf-8")):
                found.append(str(path.relative_to(ROOT)))
    assert found == ["schemas/privacy.py"]
