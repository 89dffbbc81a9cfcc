"""Avro schemas of the view rows published to the compacted ``egov.view.<name>`` topics.

The topic names are :func:`schemas.topic_names.view_topic`'s.
"""

from __future__ import annotations

from typing import Any

_COMMON = [
    ("region_code", "string", "Kemendagri code of the region"),
    ("region_name", ["null", "string"], "Name of the region"),
    ("province_code", ["null", "string"], "Province the region belongs to"),
]
_FIELDS: dict[str, list[tuple[str, Any, str]]] = {
    "integration_index": [
        ("theme", "string", "E-government theme"),
        ("events_total", "long", "Events seen from the region on the theme"),
        ("first_seen", {"type": "long", "logicalType": "timestamp-millis"}, "Earliest occurred_at seen"),
        ("last_seen", {"type": "long", "logicalType": "timestamp-millis"}, "Latest occurred_at seen"),
        ("active_days", "int", "UTC days with at least one event"),
        ("events_per_day", "double", "events_total / active_days"),
    ],
    "budget_absorption": [
        ("fiscal_year", "int", "Fiscal year"),
        ("allocated", "string", "Rupiah allocated (BudgetAllocated), exact decimal as text"),
        ("realised", "string", "Rupiah realised (BudgetRealizationPosted), exact decimal as text"),
        ("absorption_pct", ["null", "double"], "realised / allocated * 100, 2 decimals; null without allocation"),
    ],
    "complaint_service_level": [
        ("month", "string", "Month (UTC, yyyy-mm) the complaints were received"),
        ("received", ["null", "long"], "Complaints received; null when below 5 (suppressed)"),
        ("resolved", ["null", "long"], "Of those, resolved; null when below 5"),
        ("open", ["null", "long"], "Of those, still open; null when below 5"),
        ("median_resolve_hours", ["null", "double"], "Median time to resolve; null when fewer than 5 resolved"),
        ("p90_resolve_hours", ["null", "double"], "90th percentile (nearest rank) time to resolve"),
        ("suppressed", "boolean", "True when any count was suppressed"),
    ],
    "licensing_throughput": [
        ("day", "string", "UTC day (yyyy-mm-dd)"),
        ("applied", "long", "Permits applied for that day"),
        ("issued", "long", "Permits issued that day"),
        ("rejected", "long", "Permits rejected that day"),
        ("median_processing_hours", ["null", "double"], "Median applied-to-decision time of that day's decisions"),
    ],
}


def view_schema(view: str) -> dict[str, Any]:
    """The Avro record schema of one view's rows."""
    name = "".join(part.title() for part in view.split("_")) + "Row"
    return {
        "type": "record",
        "name": name,
        "namespace": "id.go.egov.view",
        "doc": f"One row of the {view} central view (key: the view key).",
        "fields": [{"name": n, "type": t, "doc": d} for n, t, d in _COMMON + _FIELDS[view]],
    }
