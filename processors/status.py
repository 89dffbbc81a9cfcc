"""The central side's part of ``egov-bus status``: regions publishing per theme (the integration_index view)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

from rich.table import Table

from bus.status import Section, StatusOptions
from processors.views.aggregates import INTEGRATION_INDEX
from schemas.event_types import THEMES


def collect_publishing(settings: Any, options: StatusOptions, now: datetime) -> dict[str, Any]:
    """Per theme: regions with any event in the view, and with one whose ``occurred_at`` is in the last N days."""
    from processors.exceptions import ProcessorError
    from processors.views.read import load_view

    since = now - timedelta(days=options.days)
    ever: dict[str, set[str]] = defaultdict(set)
    recent: dict[str, set[str]] = defaultdict(set)
    try:
        rows = load_view(settings, INTEGRATION_INDEX, prefix=options.prefix)
    except ProcessorError as exc:
        if exc.fields.get("topic") is None or not str(exc).startswith("no topic "):
            raise
        rows = []  # no view topic yet (topics not applied): nobody counted as publishing
    for row in rows:
        theme, region = row.get("theme"), row.get("region_code")
        if not theme or not region:
            continue
        ever[theme].add(region)
        last = row.get("last_seen")
        if isinstance(last, datetime) and last.astimezone(timezone.utc) >= since:
            recent[theme].add(region)
    themes = [t for t in THEMES if t in ever] + sorted(t for t in ever if t not in THEMES)
    return {
        "source": f"{INTEGRATION_INDEX} view: regions with any event, and with one that occurred in the last "
                  f"{options.days} days",
        "days": options.days,
        "themes": [{"theme": t, "regions": len(ever[t]), "regions_recent": len(recent[t])} for t in themes],
    }


def render_publishing(data: dict[str, Any], _now: datetime) -> Table:
    """Regions publishing as a table."""
    table = Table("theme", "regions publishing", f"in the last {data['days']} days",
                  title=f"Regions publishing per theme (from the {INTEGRATION_INDEX} view)", title_justify="left")
    for t in data["themes"]:
        table.add_row(t["theme"], f"{t['regions']:,}", f"{t['regions_recent']:,}")
    if not data["themes"]:
        table.add_row("(no events counted yet)", "", "")
    return table


SECTION = Section("regions_publishing", collect_publishing, render_publishing, needs="registry")
