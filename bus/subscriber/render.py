"""One readable line per event, for people (``egov-bus tail``)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

from rich.text import Text

from schemas.regions import region

from bus.subscriber.records import SubscribedEvent, Undecodable

#: How many of an event's own fields a line shows, and how long a value may be.
KEY_FIELDS = 4
VALUE_WIDTH = 40


def _value(value: Any) -> str | None:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (date, Decimal, int, float, str, bool)):
        text = str(value)
        return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"
    return None  # lists, records: too long for one line


def key_fields(event: Any, limit: int = KEY_FIELDS) -> list[tuple[str, str]]:
    """The first ``limit`` scalar fields of an event after its envelope, in schema order."""
    out: list[tuple[str, str]] = []
    for name in type(event).model_fields:
        if name == "envelope":
            continue
        text = _value(getattr(event, name))
        if text is None:
            continue
        out.append((name, text))
        if len(out) == limit:
            break
    return out


def region_label(code: str) -> str:
    found = region(code)
    return found.name if found else "?"


def event_line(ev: SubscribedEvent) -> Text:
    """``2025-03-01 00:00:01Z  32.01 Kabupaten Bogor  BudgetAllocated  allocation_id=... amount=...``.

    The time is the event's ``occurred_at`` (UTC).
    """
    occurred = ev.event.envelope.occurred_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    line = Text()
    line.append(occurred, style="dim")
    line.append("  ")
    line.append(f"{ev.region_code:<5}", style="bold cyan")
    line.append(" ")
    line.append(f"{region_label(ev.region_code):<28}", style="cyan")
    line.append("  ")
    line.append(f"{ev.event_type:<28}", style="bold")
    for name, value in key_fields(ev.event):
        line.append("  ")
        line.append(f"{name}=", style="dim")
        line.append(value)
    return line


def undecodable_line(item: Undecodable) -> Text:
    """``! undecodable egov.x.events[0]@12 (key 32.01): WireFormatError: ...``."""
    line = Text()
    line.append("! undecodable", style="bold red")
    line.append(f" {item.topic}[{item.partition}]@{item.offset}")
    if item.key:
        line.append(f" (key {item.key})")
    line.append(f": {item.error_class}: {item.reason}", style="red")
    return line
