"""Event-time aggregation of the central views, as pure functions over a store.

State lives in a mapping (a Faust table in the worker, a dict in tests) keyed
``"<view>|<view key>"`` with JSON-able values, so the same code runs in the
worker and in the test that recomputes the views independently. Buckets come
from the event's ``occurred_at`` (and ``received_at``/``applied_at`` where the
view measures a duration), never from wall-clock time. Idempotency by
``event_id`` is the caller's job: it applies an event at most once.
"""

from __future__ import annotations

import math
import statistics
from functools import lru_cache
from collections.abc import MutableMapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from processors.transform import enrich

INTEGRATION_INDEX = "integration_index"
BUDGET_ABSORPTION = "budget_absorption"
COMPLAINT_SERVICE_LEVEL = "complaint_service_level"
LICENSING_THROUGHPUT = "licensing_throughput"
VIEWS = (INTEGRATION_INDEX, BUDGET_ABSORPTION, COMPLAINT_SERVICE_LEVEL, LICENSING_THROUGHPUT)

# Views that count people (complainants) suppress counts below this.
SUPPRESS_BELOW = 5

Store = MutableMapping[str, dict[str, Any]]


def _ms(value: Any) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp() * 1000)
    return int(value)


@lru_cache(maxsize=4096)
def _day_of(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86400, tz=timezone.utc).strftime("%Y-%m-%d")


def _day(ms: int) -> str:
    """UTC day (yyyy-mm-dd) of an epoch-millisecond time."""
    return _day_of(ms // 86_400_000)


def _month(ms: int) -> str:
    """UTC month (yyyy-mm) of an epoch-millisecond time."""
    return _day_of(ms // 86_400_000)[:7]


def apply_event(store: Store, theme: str, event_type: str, value: dict[str, Any]) -> list[tuple[str, str]]:
    """Apply one (new, valid, transformed) event; return the ``(view, key)`` pairs it changed."""
    envelope = value["envelope"]
    region = envelope["region_code"]
    occurred = _ms(envelope["occurred_at"])
    day = _day(occurred)
    changed: list[tuple[str, str]] = []
    # Rows are owned by the store and updated in place (a new row only when the key is new);
    # assigning the row back (``store[skey] = row``) marks the key changed for the changelog.

    key = f"{region}|{theme}"
    skey = f"{INTEGRATION_INDEX}|{key}"
    row = store.get(skey) or {"events_total": 0, "first_seen_ms": occurred, "last_seen_ms": occurred, "days": {}}
    row["events_total"] += 1
    if occurred < row["first_seen_ms"]:
        row["first_seen_ms"] = occurred
    if occurred > row["last_seen_ms"]:
        row["last_seen_ms"] = occurred
    days = row["days"]
    days[day] = days.get(day, 0) + 1
    store[skey] = row
    changed.append((INTEGRATION_INDEX, key))

    if event_type in ("BudgetAllocated", "BudgetRealizationPosted"):
        key = f"{region}|{value['fiscal_year']}"
        skey = f"{BUDGET_ABSORPTION}|{key}"
        row = store.get(skey) or {"allocated": "0.00", "realised": "0.00"}
        field = "allocated" if event_type == "BudgetAllocated" else "realised"
        # Exact decimals, kept as text (JSON has no decimal type).
        row[field] = str(Decimal(row[field]) + Decimal(value["amount"]))
        store[skey] = row
        changed.append((BUDGET_ABSORPTION, key))
    elif event_type == "ComplaintReceived":
        key = f"{region}|{_month(occurred)}"
        skey = f"{COMPLAINT_SERVICE_LEVEL}|{key}"
        row = store.get(skey) or {"received": 0, "resolved": 0, "resolve_seconds": []}
        row["received"] += 1
        store[skey] = row
        changed.append((COMPLAINT_SERVICE_LEVEL, key))
    elif event_type == "ComplaintResolved":
        received = _ms(value["received_at"])
        # Bucketed by the month the complaint came in, so received/resolved/open describe one cohort.
        key = f"{region}|{_month(received)}"
        skey = f"{COMPLAINT_SERVICE_LEVEL}|{key}"
        row = store.get(skey) or {"received": 0, "resolved": 0, "resolve_seconds": []}
        row["resolved"] += 1
        row["resolve_seconds"].append(max(0, (occurred - received) // 1000))
        store[skey] = row
        changed.append((COMPLAINT_SERVICE_LEVEL, key))
    elif event_type in ("PermitApplied", "PermitIssued", "PermitRejected"):
        key = f"{region}|{day}"
        skey = f"{LICENSING_THROUGHPUT}|{key}"
        row = store.get(skey) or {"applied": 0, "issued": 0, "rejected": 0, "processing_seconds": []}
        if event_type == "PermitApplied":
            row["applied"] += 1
        else:
            row["issued" if event_type == "PermitIssued" else "rejected"] += 1
            row["processing_seconds"].append(max(0, (occurred - _ms(value["applied_at"])) // 1000))
        store[skey] = row
        changed.append((LICENSING_THROUGHPUT, key))
    return changed


def percentile(values: list[int], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q * len(ordered)) - 1)])


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 3)


def _suppress(count: int) -> int | None:
    return count if count >= SUPPRESS_BELOW else None


def render_row(view: str, key: str, state: dict[str, Any]) -> dict[str, Any]:
    """The published row of a view key (what the view topic and the API show)."""
    region, _, rest = key.partition("|")
    place = enrich(region)
    base = {"region_code": region, "region_name": place["region_name"], "province_code": place["province_code"]}
    if view == INTEGRATION_INDEX:
        days = state["days"]
        return {
            **base,
            "theme": rest,
            "events_total": state["events_total"],
            "first_seen": state["first_seen_ms"],
            "last_seen": state["last_seen_ms"],
            "active_days": len(days),
            "events_per_day": round(state["events_total"] / max(1, len(days)), 3),
        }
    if view == BUDGET_ABSORPTION:
        allocated, realised = Decimal(state["allocated"]), Decimal(state["realised"])
        pct = float((realised * 100 / allocated).quantize(Decimal("0.01"))) if allocated else None
        return {**base, "fiscal_year": int(rest), "allocated": str(allocated), "realised": str(realised), "absorption_pct": pct}
    if view == COMPLAINT_SERVICE_LEVEL:
        received, resolved = state["received"], state["resolved"]
        durations = state["resolve_seconds"]
        show_times = resolved >= SUPPRESS_BELOW
        open_ = max(0, received - resolved)
        # Complementary suppression: received = resolved + open, so hiding only the
        # small one would leave it one subtraction away. All three go together.
        hidden = min(received, resolved, open_) < SUPPRESS_BELOW
        return {
            **base,
            "month": rest,
            "received": None if hidden else received,
            "resolved": None if hidden else resolved,
            "open": None if hidden else open_,
            "median_resolve_hours": _hours(statistics.median(durations)) if show_times else None,
            "p90_resolve_hours": _hours(percentile(durations, 0.9)) if show_times else None,
            "suppressed": hidden,
        }
    if view == LICENSING_THROUGHPUT:
        durations = state["processing_seconds"]
        return {
            **base,
            "day": rest,
            "applied": state["applied"],
            "issued": state["issued"],
            "rejected": state["rejected"],
            "median_processing_hours": _hours(statistics.median(durations)) if durations else None,
        }
    raise KeyError(view)
