"""Province and nation roll-ups of the central views, as pure functions over region rows.

Region rows are the published view rows (``render_row``); a roll-up groups
them by province (``province_code``) or over the whole nation, keeping the
view's time/fiscal bucket:

* ``integration_index`` — one row per province (or the nation) over the themes
  present in the input (filter by theme first for a per-theme index):
  ``regions_publishing`` (distinct regions with at least one event) out of
  ``regions_total`` (the province's regional governments, itself included, from
  the Kemendagri list; 552 for the nation), ``integration_pct``, ``events_total``
  (sum), ``themes_published``, ``first_seen``/``last_seen`` (min/max).
* ``budget_absorption`` — per fiscal year: ``allocated`` and ``realised``
  summed as exact decimals; ``absorption_pct`` recomputed from the sums
  (never an average of percentages).
* ``complaint_service_level`` — per month: ``received``, ``resolved``, ``open``.
* ``licensing_throughput`` — per day: ``applied``, ``issued``, ``rejected``.

Medians and percentiles cannot be combined from medians: the roll-up rows
carry them as ``None``.

Small-count suppression (complaints count people): a region row shows
``None`` for a count below 5. The roll-up rule: ``received``, ``resolved`` and
``open`` of a roll-up row are the sums of the region rows only when *no*
contributing row hides any of its three counts, and none of the sums is below
5; otherwise all three are ``None``. Why all three: ``received = resolved +
open``, so one hidden total would follow from the other two. Why not the sum
of the visible values: it would pass for the real total. Why not a total with
the hidden values in it: subtracting the visible rows would restore them.
``regions_suppressed`` says how many rows hid a count; a nation total is
shown only when every row of the nation shows its counts, so province and
nation totals cannot be subtracted from each other either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from processors.api.exceptions import RollupLevelError
from processors.views.aggregates import (
    BUDGET_ABSORPTION,
    COMPLAINT_SERVICE_LEVEL,
    INTEGRATION_INDEX,
    LICENSING_THROUGHPUT,
    SUPPRESS_BELOW,
)
from schemas import regions

PROVINCE = "province"
NATION = "nation"
LEVELS = ("region", PROVINCE, NATION)

Row = dict[str, Any]


@lru_cache(maxsize=1)
def regions_per_province() -> dict[str, int]:
    """Regional governments per province code (the province itself and its kabupaten/kota)."""
    counts: dict[str, int] = defaultdict(int)
    for region in regions.all_regions():
        counts[region.province_code] += 1
    return dict(counts)


def _place(level: str, province: str | None) -> Row:
    if level == NATION:
        return {"level": NATION, "province_code": None, "province_name": None}
    found = regions.region(province) if province else None
    return {"level": PROVINCE, "province_code": province, "province_name": found.name if found else None}


def _groups(rows: Iterable[Row], level: str, bucket: str | None) -> dict[tuple, list[Row]]:
    if level not in (PROVINCE, NATION):
        raise RollupLevelError(f"roll-up level must be {PROVINCE!r} or {NATION!r}, not {level!r}", loc=["query", "level"], input=level)
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for row in rows:
        province = row.get("province_code") if level == PROVINCE else None
        groups[(province or "", row[bucket] if bucket else None)].append(row)
    return groups


def _sorted(groups: dict[tuple, list[Row]]) -> list[tuple[tuple, list[Row]]]:
    return sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] if item[0][1] is not None else ""))


# received = resolved + open: hiding one of them means hiding all three, or subtraction restores it.
_COMPLAINT_COUNTS = ("received", "resolved", "open")


def integration_index(rows: Iterable[Row], level: str) -> list[Row]:
    """Regions publishing, events and themes per province (or nation)."""
    return _integration(rows, level, None)


def integration_by_theme(rows: Iterable[Row], level: str) -> list[Row]:
    """:func:`integration_index` per province (or nation) *and theme*: each row carries its ``theme``.

    The dashboard's "integration by theme" chart: one request instead of one per theme.
    """
    return _integration(rows, level, "theme")


def _integration(rows: Iterable[Row], level: str, bucket: str | None) -> list[Row]:
    out = []
    per_province = regions_per_province()
    for (province, theme), group in _sorted(_groups(rows, level, bucket)):
        publishing = {r["region_code"] for r in group if r["events_total"] > 0}
        total = sum(per_province.values()) if level == NATION else per_province.get(province, 0)
        out.append(
            {
                **_place(level, province),
                **({"theme": theme} if bucket else {}),
                "regions_total": total,
                "regions_publishing": len(publishing),
                "integration_pct": round(len(publishing) * 100 / total, 2) if total else None,
                "themes_published": len({r["theme"] for r in group if r["events_total"] > 0}),
                "events_total": sum(r["events_total"] for r in group),
                "first_seen": min(r["first_seen"] for r in group),
                "last_seen": max(r["last_seen"] for r in group),
            }
        )
    return out


def budget_absorption(rows: Iterable[Row], level: str) -> list[Row]:
    """Allocated, realised and absorption % per province (or nation) and fiscal year."""
    out = []
    for (province, year), group in _sorted(_groups(rows, level, "fiscal_year")):
        allocated = sum((Decimal(r["allocated"]) for r in group), Decimal("0.00"))
        realised = sum((Decimal(r["realised"]) for r in group), Decimal("0.00"))
        pct = float((realised * 100 / allocated).quantize(Decimal("0.01"))) if allocated else None
        out.append(
            {
                **_place(level, province),
                "fiscal_year": year,
                "regions": len({r["region_code"] for r in group}),
                "allocated": str(allocated),
                "realised": str(realised),
                "absorption_pct": pct,
            }
        )
    return out


def complaint_service_level(rows: Iterable[Row], level: str) -> list[Row]:
    """Received, resolved and open complaints per province (or nation) and month, suppression kept."""
    out = []
    for (province, month), group in _sorted(_groups(rows, level, "month")):
        hidden = sum(1 for r in group if any(r[f] is None for f in _COMPLAINT_COUNTS))
        counts = {f: None if hidden else sum(r[f] for r in group) for f in _COMPLAINT_COUNTS}
        if any(v is not None and v < SUPPRESS_BELOW for v in counts.values()):
            counts = dict.fromkeys(_COMPLAINT_COUNTS)
        out.append(
            {
                **_place(level, province),
                "month": month,
                "regions": len({r["region_code"] for r in group}),
                **counts,
                "median_resolve_hours": None,
                "p90_resolve_hours": None,
                "regions_suppressed": hidden,
                "suppressed": any(v is None for v in counts.values()),
            }
        )
    return out


def licensing_throughput(rows: Iterable[Row], level: str) -> list[Row]:
    """Permits applied, issued and rejected per province (or nation) and day."""
    out = []
    for (province, day), group in _sorted(_groups(rows, level, "day")):
        out.append(
            {
                **_place(level, province),
                "day": day,
                "regions": len({r["region_code"] for r in group}),
                "applied": sum(r["applied"] for r in group),
                "issued": sum(r["issued"] for r in group),
                "rejected": sum(r["rejected"] for r in group),
                "median_processing_hours": None,
            }
        )
    return out


ROLLUPS: dict[str, Callable[[Iterable[Row], str], list[Row]]] = {
    INTEGRATION_INDEX: integration_index,
    BUDGET_ABSORPTION: budget_absorption,
    COMPLAINT_SERVICE_LEVEL: complaint_service_level,
    LICENSING_THROUGHPUT: licensing_throughput,
}


def roll_up(view: str, rows: Iterable[Row], level: str) -> list[Row]:
    """Rows of ``view`` at ``level`` (``"region"`` returns them unchanged)."""
    if level == "region":
        return list(rows)
    return ROLLUPS[view](rows, level)
