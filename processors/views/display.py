"""A view's rows as people read them: for ``egov-bus views`` (and the demo), never a Python repr."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.table import Table

# Column headings shorter than the field names, so that a view fits a terminal.
_HEADINGS = {
    "region_code": "region", "region_name": "name", "province_code": "prov.",
    "events_total": "events", "first_seen": "first seen (UTC)", "last_seen": "last seen (UTC)",
    "active_days": "days", "events_per_day": "per day", "fiscal_year": "year",
    "allocated": "allocated (Rp)", "realised": "realised (Rp)", "absorption_pct": "absorbed %",
    "median_resolve_hours": "median h", "p90_resolve_hours": "p90 h",
    "median_processing_hours": "median h", "suppressed": "suppressed",
}
#: Fields that hold rupiah as exact decimal text.
_RUPIAH = frozenset({"allocated", "realised"})


def cell(field: str, value: Any) -> str:
    """One value as text: times ``2026-12-01 07:11``, rupiah and counts with thousands separators,
    ratios with two decimals, booleans yes/no, none (a suppressed count) as ``—``."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        at = value if value.tzinfo is None else value.astimezone(timezone.utc)
        return f"{at:%Y-%m-%d %H:%M}"
    if field in _RUPIAH or isinstance(value, Decimal):
        try:
            return f"{Decimal(str(value)):,.2f}"
        except InvalidOperation:
            return str(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}" if field != "fiscal_year" else str(value)
    return str(value)


def view_table(rows: list[dict[str, Any]], *, limit: int | None = None, title: str | None = None) -> Table:
    """The rows (all with the same fields) as a rich table, numbers right-aligned."""
    if not rows:
        table = Table("(no rows)", title=title, title_justify="left")
        return table
    fields = list(rows[0])
    table = Table(title=title, title_justify="left")
    for field in fields:
        numeric = any(isinstance(r.get(field), (int, float, Decimal)) and not isinstance(r.get(field), bool)
                      for r in rows) or field in _RUPIAH
        table.add_column(_HEADINGS.get(field, field.replace("_", " ")), justify="right" if numeric else "left",
                         no_wrap=field != "region_name")
    for row in rows[:limit]:
        table.add_row(*(cell(f, row.get(f)) for f in fields))
    return table
