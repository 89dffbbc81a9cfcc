"""Materialise a view from its compacted topic (for the CLI, and later the HTTP API)."""

from __future__ import annotations

from typing import Any

from bus.serde import AvroDeserializer, make_registry_client
from processors.dlq_tools import read_dead_letters  # generic "read a topic to its end"
from processors.views.aggregates import VIEWS
from schemas.topic_names import view_topic


def load_view(settings, view: str, *, prefix: str | None = None, province: str | None = None,
              region: str | None = None, theme: str | None = None) -> list[dict[str, Any]]:
    """The current rows of ``view`` (last record per key), filtered."""
    if view not in VIEWS:
        from processors.exceptions import ProcessorError

        raise ProcessorError(f"unknown view {view!r}; views: {', '.join(VIEWS)}", view=view)
    topic = view_topic(view, prefix)
    decode = AvroDeserializer(make_registry_client(settings))
    rows: dict[str, dict[str, Any]] = {}
    for record in read_dead_letters(settings, topic):
        if record.key is not None and record.value is not None:
            rows[record.key] = decode(record.value).value
    out = []
    for key in sorted(rows):
        row = rows[key]
        if province and row.get("province_code") != province:
            continue
        if region and row.get("region_code") != region:
            continue
        if theme and row.get("theme") not in (None, theme):
            continue
        out.append(row)
    return out
