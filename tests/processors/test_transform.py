"""Unit tests: legacy Papua codes, enrichment and the raw-NIK guard."""

from __future__ import annotations

import pytest

from processors.exceptions import TransformError
from processors.transform import current_region_code, enrich, legacy_code_map, refuse_raw_nik
from schemas import regions


def test_every_legacy_code_maps_to_a_current_regency_under_93_to_96() -> None:
    mapping = legacy_code_map()
    assert len(mapping) == 26
    for old, new in mapping.items():
        assert not regions.is_current_region(old), old
        assert new.split(".")[0] in {"93", "94", "95", "96"}
        assert regions.is_current_region(new)
    # Every regency of the four new provinces has exactly one legacy code.
    new_regencies = {r.code for r in regions.all_regions() if r.level == 2 and r.province_code in {"93", "94", "95", "96"}}
    assert set(mapping.values()) == new_regencies


@pytest.mark.parametrize(
    ("old", "new"),
    [("91.01", "93.01"), ("91.09", "94.04"), ("91.02", "95.01"), ("92.71", "96.71"), ("92.01", "96.01")],
)
def test_known_mappings(old: str, new: str) -> None:
    assert current_region_code(old) == new


def test_current_codes_stay() -> None:
    assert current_region_code("91.03") == "91.03"
    assert current_region_code("32.01") == "32.01"


def test_enrich() -> None:
    assert enrich("32.01") == {"region_name": "Kabupaten Bogor", "province_code": "32", "province_name": "Jawa Barat"}
    assert enrich("99.99")["province_code"] is None


def test_raw_nik_is_refused_without_echoing_it() -> None:
    value = {"envelope": {"region_code": "32.01"}, "notes": "pelapor NIK 3201011203900001 mohon"}
    with pytest.raises(TransformError) as info:
        refuse_raw_nik(value)
    assert info.value.fields["field"] == "notes"
    assert "3201011203900001" not in str(info.value)


def test_nested_and_list_values_are_scanned() -> None:
    with pytest.raises(TransformError, match=r"items\[1\]"):
        refuse_raw_nik({"items": ["ok", "3201011203900001"]})


def test_pseudonyms_and_other_numbers_pass() -> None:
    refuse_raw_nik(
        {
            "nik_pseudonym": "a" * 8 + "1234567890123456" + "b" * 40,
            "amount": "123456789012345.00",
            "npwp": "012345678901234",
            "id": "12345678901234567",
        }
    )
