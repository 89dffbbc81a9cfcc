"""Event-time aggregation of the central views, as pure functions over a store.

State lives in a mapping (the worker's RocksDB-backed task state, a dict in tests) keyed
``"<view>|<view key>"`` with JSON-able values, so the same code runs in the
worker and in the test that recomputes the views independently. Buckets come
from the event's ``occurred_at`` (and ``received_at``/``applied_at`` where the
view measures a duration), never from wall-clock time. Idempotency by
``event_id`` is the caller's job: it applies an event at most once.
"""

from __future__ import annotations

import math
from functools import lru_cache
from collections.abc import MutableMapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from processors.exceptions import AggregationError, UnknownAggregateError
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


# One planned write: the row object, the (container, key, new value) assignments and
# the (list, value) appends that turn it into its new state, and its view and key.
Write = tuple[str, dict[str, Any], list[tuple[dict[str, Any], str, Any]], list[tuple[list[Any], Any]], tuple[str, str]]


def _get(store: Store, skey: str, fresh: dict[str, Any]) -> dict[str, Any]:
    row = store.get(skey)
    return fresh if row is None else row


def plan_event(store: Store, theme: str, event_type: str, value: dict[str, Any]) -> list[Write]:
    """Everything one event changes, computed without changing anything.

    Every read, parse and computation that can fail happens here; what is left
    for :func:`write_plan` are dict assignments and list appends of values
    already computed. That split is what makes applying an event all-or-nothing:
    an exception here (a bad value, a corrupt stored row, a bug) leaves the store
    as it was, and the event is dead-lettered without a partial update.
    """
    envelope = value["envelope"]
    region = envelope["region_code"]
    occurred = _ms(envelope["occurred_at"])
    day = _day(occurred)
    writes: list[Write] = []

    key = f"{region}|{theme}"
    skey = f"{INTEGRATION_INDEX}|{key}"
    row = _get(store, skey, {"events_total": 0, "first_seen_ms": occurred, "last_seen_ms": occurred, "days": {}})
    days = row["days"]
    writes.append((
        skey,
        row,
        [
            (row, "events_total", row["events_total"] + 1),
            (row, "first_seen_ms", min(row["first_seen_ms"], occurred)),
            (row, "last_seen_ms", max(row["last_seen_ms"], occurred)),
            (days, day, days.get(day, 0) + 1),
        ],
        [],
        (INTEGRATION_INDEX, key),
    ))

    if event_type in ("BudgetAllocated", "BudgetRealizationPosted"):
        key = f"{region}|{value['fiscal_year']}"
        skey = f"{BUDGET_ABSORPTION}|{key}"
        row = _get(store, skey, {"allocated": "0.00", "realised": "0.00"})
        field = "allocated" if event_type == "BudgetAllocated" else "realised"
        # Exact decimals, kept as text (JSON has no decimal type).
        writes.append((skey, row, [(row, field, str(Decimal(row[field]) + Decimal(value["amount"])))], [], (BUDGET_ABSORPTION, key)))
    elif event_type == "ComplaintReceived":
        key = f"{region}|{_month(occurred)}"
        skey = f"{COMPLAINT_SERVICE_LEVEL}|{key}"
        row = _get(store, skey, {"received": 0, "resolved": 0, "resolve_seconds": {}})
        writes.append((skey, row, [(row, "received", row["received"] + 1)], [], (COMPLAINT_SERVICE_LEVEL, key)))
    elif event_type == "ComplaintResolved":
        received = _ms(value["received_at"])
        # Bucketed by the month the complaint came in, so received/resolved/open describe one cohort.
        key = f"{region}|{_month(received)}"
        skey = f"{COMPLAINT_SERVICE_LEVEL}|{key}"
        row = _get(store, skey, {"received": 0, "resolved": 0, "resolve_seconds": {}})
        durations = _counts(row, "resolve_seconds")
        seconds = str(max(0, (occurred - received) // 1000))
        writes.append((
            skey, row,
            [(row, "resolved", row["resolved"] + 1), (row, "resolve_seconds", durations),
             (durations, seconds, durations.get(seconds, 0) + 1)],
            [],
            (COMPLAINT_SERVICE_LEVEL, key),
        ))
    elif event_type in ("PermitApplied", "PermitIssued", "PermitRejected"):
        key = f"{region}|{day}"
        skey = f"{LICENSING_THROUGHPUT}|{key}"
        row = _get(store, skey, {"applied": 0, "issued": 0, "rejected": 0, "processing_seconds": {}})
        if event_type == "PermitApplied":
            writes.append((skey, row, [(row, "applied", row["applied"] + 1)], [], (LICENSING_THROUGHPUT, key)))
        else:
            field = "issued" if event_type == "PermitIssued" else "rejected"
            durations = _counts(row, "processing_seconds")
            seconds = str(max(0, (occurred - _ms(value["applied_at"])) // 1000))
            writes.append((
                skey, row,
                [(row, field, row[field] + 1), (row, "processing_seconds", durations),
                 (durations, seconds, durations.get(seconds, 0) + 1)],
                [],
                (LICENSING_THROUGHPUT, key),
            ))
    return writes


def write_plan(store: Store, writes: list[Write]) -> list[tuple[str, str]]:
    """Carry out a plan of :func:`plan_event` (assignments only); return the changed ``(view, key)`` pairs."""
    changed = []
    for skey, row, assignments, appends, view_key in writes:
        for target, name, new in assignments:
            target[name] = new
        for values, new in appends:
            values.append(new)
        store[skey] = row
        changed.append(view_key)
    return changed


def apply_event(store: Store, theme: str, event_type: str, value: dict[str, Any]) -> list[tuple[str, str]]:
    """Apply one (new, valid, transformed) event, all or nothing; return the ``(view, key)`` pairs it changed."""
    return write_plan(store, plan_event(store, theme, event_type, value))


def _counts(row: dict[str, Any], field: str) -> dict[str, int]:
    """A row's durations as ``{seconds: how many}`` (rows written before that format held a list)."""
    durations = row[field]
    if isinstance(durations, list):
        counted: dict[str, int] = {}
        for d in durations:
            counted[str(d)] = counted.get(str(d), 0) + 1
        return counted
    return durations


def _nth(ordered: list[tuple[int, int]], index: int) -> int:
    """The ``index``-th (0-based) value of the sorted multiset ``ordered`` (value, count)."""
    seen = 0
    for value, count in ordered:
        seen += count
        if index < seen:
            return value
    raise AggregationError(f"index {index} is beyond the {seen} values of the multiset", index=index, size=seen)


def _ordered(durations: dict[str, int] | list[int]) -> list[tuple[int, int]]:
    if isinstance(durations, list):
        durations = _counts({"d": durations}, "d")
    return sorted((int(k), n) for k, n in durations.items() if n)


def median(durations: dict[str, int] | list[int]) -> float | None:
    """The median (as ``statistics.median``) of durations kept as counts; None for none."""
    ordered = _ordered(durations)
    total = sum(n for _, n in ordered)
    if not total:
        return None
    lo, hi = _nth(ordered, (total - 1) // 2), _nth(ordered, total // 2)
    return lo if lo == hi and total % 2 else (lo + hi) / 2


def percentile(values: dict[str, int] | list[int], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of durations (a list or counts); None for no values."""
    ordered = _ordered(values)
    total = sum(n for _, n in ordered)
    if not total:
        return None
    return float(_nth(ordered, max(0, math.ceil(q * total) - 1)))


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
            "median_resolve_hours": _hours(median(durations)) if show_times else None,
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
            "median_processing_hours": _hours(median(durations)) if durations else None,
        }
    raise UnknownAggregateError(f"no aggregator renders a view named {view!r}", view=view)
