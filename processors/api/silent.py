"""Silent regions: regional governments that published nothing (in a theme, or at all) for N days.

Computed from the integration index's region rows (``last_seen`` per region and
theme) against the Kemendagri list (:mod:`schemas.regions`), so a region that
never published at all is silent too (its ``last_seen`` is ``None``). Pure
functions: the API passes the rows and the time it answers for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from schemas import regions

Row = dict[str, Any]


def _parse(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def last_seen_per_region(rows: Iterable[Row], theme: str | None) -> dict[str, datetime]:
    """The latest ``last_seen`` of each region with events, in ``theme`` (``None``: over every theme)."""
    latest: dict[str, datetime] = {}
    for row in rows:
        if (theme is not None and row.get("theme") != theme) or not row.get("events_total"):
            continue
        seen = _parse(row.get("last_seen"))
        code = row["region_code"]
        if seen is not None and (code not in latest or seen > latest[code]):
            latest[code] = seen
    return latest


def silent_regions(
    rows: Iterable[Row],
    *,
    days: int,
    now: datetime,
    theme: str | None = None,
    province: str | None = None,
) -> dict[str, Any]:
    """Regions silent for ``days`` days at ``now``: a count per province, and the regions of ``province``.

    A region is silent when its last event (in ``theme``, or in any theme when
    ``None``) is older than ``now - days`` or it never published. ``provinces``
    lists every province (only ``province`` when given) with ``regions_total``,
    ``regions_silent`` and ``never_seen``; ``regions`` lists the silent regions
    of ``province`` with their ``last_seen`` (empty without a province: 552
    lines are for the drill-down, not the nation's summary).
    """
    cutoff = now - timedelta(days=days)
    latest = last_seen_per_region(rows, theme)
    summary: dict[str, Row] = {}
    listed: list[Row] = []
    for place in regions.all_regions():
        if province is not None and place.province_code != province:
            continue
        entry = summary.setdefault(
            place.province_code,
            {"province_code": place.province_code, "province_name": place.province_name,
             "regions_total": 0, "regions_silent": 0, "never_seen": 0},
        )
        entry["regions_total"] += 1
        seen = latest.get(place.code)
        if seen is not None and seen >= cutoff:
            continue
        entry["regions_silent"] += 1
        entry["never_seen"] += seen is None
        if province is not None:
            listed.append({"region_code": place.code, "region_name": place.name,
                           "province_code": place.province_code, "last_seen": _iso(seen)})
    return {
        "days": days,
        "theme": theme,
        "as_of": _iso(now),
        "since": _iso(cutoff),
        "provinces": sorted(summary.values(), key=lambda r: r["province_code"]),
        "regions": listed,
    }
