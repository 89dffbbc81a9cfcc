"""Unit tests for NIK pseudonymization and the raw-NIK guard."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from adapters.privacy import (
    InvalidNikError,
    MissingPseudonymKeyError,
    Pseudonymizer,
    RawNikError,
    age_band,
    check_no_raw_nik,
    find_raw_nik,
)
from bus.settings import load_settings

KEY = "unit-test-key-0123456789abcdef"
# 32.01.01 (Cibinong, Kab. Bogor); 45 = day 5 + 40 -> female; born 1990-01-05.
NIK_FEMALE = "3201014501900001"
NIK_MALE = "3201011301900002"


def test_pseudonym_is_keyed_hmac_sha256_of_the_digits() -> None:
    p = Pseudonymizer(KEY)
    expected = hmac.new(KEY.encode(), NIK_FEMALE.encode(), hashlib.sha256).hexdigest()
    assert p.pseudonym(NIK_FEMALE) == expected
    assert p.pseudonym("3201.0145.0190.0001") == expected  # separators do not change the person
    assert len(expected) == 64 and expected != hashlib.sha256(NIK_FEMALE.encode()).hexdigest()


def test_another_key_gives_another_pseudonym() -> None:
    assert Pseudonymizer(KEY).pseudonym(NIK_FEMALE) != Pseudonymizer(KEY + "x").pseudonym(NIK_FEMALE)


def test_person_fields_are_derived_from_the_nik() -> None:
    person = Pseudonymizer(KEY).person(NIK_FEMALE, on=date(2025, 1, 4))
    assert (person.sex, person.age_band, person.district_code) == ("P", "30-34", "32.01.01")
    assert Pseudonymizer(KEY).person(NIK_FEMALE, on=date(2025, 1, 5)).age_band == "35-39"  # birthday
    male = Pseudonymizer(KEY).person(NIK_MALE, on=datetime(2025, 6, 1, tzinfo=timezone.utc))
    assert (male.sex, male.age_band) == ("L", "35-39")


@pytest.mark.parametrize(("age", "band"), [(0, "0-4"), (4, "0-4"), (5, "5-9"), (29, "25-29"), (84, "80-84"),
                                           (85, "85+"), (101, "85+")])
def test_age_bands(age: int, band: str) -> None:
    assert age_band(age) == band


@pytest.mark.parametrize("bad", ["320101450190000", "32010145019000011", "3201014501900a01", "", 12.5, None])
def test_malformed_nik_is_refused_without_echoing_it(bad: object) -> None:
    with pytest.raises(InvalidNikError) as info:
        Pseudonymizer(KEY).pseudonym(bad)
    if isinstance(bad, str) and bad:
        assert bad not in str(info.value)


def test_nik_with_impossible_birth_date_is_refused() -> None:
    with pytest.raises(InvalidNikError, match="birth_date"):
        Pseudonymizer(KEY).person("3201019913900001")  # day 99


def test_scrub_replaces_nik_by_the_wanted_fields_only() -> None:
    out = Pseudonymizer(KEY).scrub({"nik": NIK_FEMALE, "x": 1}, wanted=("nik_pseudonym", "sex"), on=date(2025, 1, 1))
    assert set(out) == {"x", "nik_pseudonym", "sex"}
    assert NIK_FEMALE not in repr(out)


def test_scrub_keeps_fields_the_caller_gave() -> None:
    out = Pseudonymizer(KEY).scrub({"nik": NIK_FEMALE, "district_code": "32.01.02"}, on=date(2025, 1, 1))
    assert out["district_code"] == "32.01.02"


def test_no_key_no_pseudonymizer() -> None:
    with pytest.raises(MissingPseudonymKeyError, match="EGOV_PSEUDONYM_KEY"):
        Pseudonymizer.from_settings(load_settings(env_file=None, pseudonym_key=None))
    with pytest.raises(MissingPseudonymKeyError):
        Pseudonymizer("short")
    settings = load_settings(env_file=None, pseudonym_key=SecretStr(KEY))
    assert Pseudonymizer.from_settings(settings).pseudonym(NIK_MALE) == Pseudonymizer(KEY).pseudonym(NIK_MALE)
    assert KEY not in repr(Pseudonymizer(KEY))


def test_raw_nik_guard_finds_digit_runs_anywhere() -> None:
    assert find_raw_nik({"a": "ok", "b": {"c": [f"NIK {NIK_MALE} here"]}}) == ("b", "c", 0)
    assert find_raw_nik({"nip": "199001012015031001"}) == ("nip",)  # an 18-digit NIP counts too
    assert find_raw_nik({"nop": "32.01.010.001.001-0001.0", "short": "123456789012345"}) is None
    with pytest.raises(RawNikError, match="remark"):
        check_no_raw_nik({"remark": NIK_MALE})


@given(st.binary(min_size=1, max_size=64))
def test_raw_nik_guard_ignores_pseudonyms(data: bytes) -> None:
    # A 64-hex digest holds 16 digits in a row now and then (~3% of them); it is not a NIK.
    digest = hashlib.sha256(data).hexdigest()
    trace = hashlib.md5(data).hexdigest()  # 32 hex, like a trace id
    assert find_raw_nik({"nik_pseudonym": digest, "checksum": f"sha256:{digest}", "trace": f"00-{trace}-01"}) is None


def test_raw_nik_guard_skips_hex_ids_with_16_digit_runs_but_not_long_digit_runs() -> None:
    hex_id = "1234567890123456" + "ab" * 24
    assert find_raw_nik({"id": hex_id}) is None
    assert find_raw_nik({"two_niks": "3201014501900001" * 2}) == ("two_niks",)
