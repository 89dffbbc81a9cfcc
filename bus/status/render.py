"""A :class:`~bus.status.collect.StatusReport` as rich tables (times readable, never a repr)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from bus.status.collect import StatusReport, sections


def when(value: str | datetime | None, now: datetime) -> str:
    """``2026-12-01 07:11:51 UTC (3 min ago)``; ``—`` for none."""
    if value is None:
        return "—"
    at = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc) if isinstance(value, str) \
        else value.astimezone(timezone.utc)
    return f"{at:%Y-%m-%d %H:%M:%S} UTC ({ago((now - at).total_seconds())})"


def ago(seconds: float) -> str:
    """``just now``, ``42 s ago``, ``3 min ago``, ``5 h ago``, ``2 days ago``."""
    if seconds < 1:
        return "just now"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[bold red]NO[/]"


def _num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def render(report: StatusReport) -> Group:
    """The one screen: each part as a table, the problems last."""
    now = report.checked_at
    parts: list[Any] = [Text(f"egov-bus status at {now:%Y-%m-%d %H:%M:%S} UTC", style="bold")]
    kafka = report.kafka
    brokers = Table("broker", "address", "reachable", "controller", title="Kafka brokers", title_justify="left")
    for b in kafka["brokers"]:
        brokers.add_row("—" if b["id"] is None else str(b["id"]), b["address"], _yes(b["reachable"]),
                        "yes" if b["controller"] else "")
    parts.append(brokers)
    registry = Table("registry", "reachable", title="Schema registry", title_justify="left")
    registry.add_row(report.registry["url"], _yes(report.registry["reachable"]))
    parts.append(registry)
    if kafka["reachable"]:
        groups = Table("group", "state", "members", "topics", "partitions", "lag",
                       title="Consumer lag (committed offset to end of each partition)", title_justify="left")
        for g in report.consumer_groups:
            groups.add_row(g["group"], g["state"] or "—", _num(g["members"]), _num(g["topics"]),
                           _num(g["partitions"]), "no commits yet" if g["lag"] is None else _num(g["lag"]))
        parts.append(groups)
        dlq = Table("theme", "topic", "dead letters", title="Dead letters per theme", title_justify="left")
        for d in report.dlq:
            depth = "no topic" if d["depth"] is None else (
                f"[bold yellow]{'' if d['exact'] else '≤ '}{d['depth']:,}[/]" if d["depth"] else "0")
            dlq.add_row(d["theme"], d["topic"], depth)
        parts.append(dlq)
        views = Table("view", "topic", "last update", title="Views (time of the last record)", title_justify="left")
        for v in report.views:
            views.add_row(v["view"], v["topic"], when(v["last_update"], now))
        if not report.views:
            views.add_row("(no view topics)", "", "")
        parts.append(views)
    for section in sections():
        data = report.extra.get(section.name)
        if data is not None:
            parts.append(section.render(data, now))
    return Group(*parts)
