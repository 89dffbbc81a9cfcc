"""Unit tests: event-time aggregation of the four views."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from processors.views.aggregates import apply_event, percentile, render_row

T0 = datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc)


def ev(region: str, occurred: datetime, **fields) -> dict:
    return {"envelope": {"region_code": region, "occurred_at": occurred}, **fields}


def test_budget_absorption_sums_exactly() -> None:
    store: dict = {}
    apply_event(store, "budgeting", "BudgetAllocated", ev("32.01", T0, fiscal_year=2026, amount=Decimal("1000.10")))
    apply_event(store, "budgeting", "BudgetAllocated", ev("32.01", T0, fiscal_year=2026, amount=Decimal("999.90")))
    changed = apply_event(
        store, "treasury", "BudgetRealizationPosted", ev("32.01", T0, fiscal_year=2026, amount=Decimal("500.00"))
    )
    assert ("budget_absorption", "32.01|2026") in changed
    row = render_row("budget_absorption", "32.01|2026", store["budget_absorption|32.01|2026"])
    assert row["allocated"] == "2000.00" and row["realised"] == "500.00" and row["absorption_pct"] == 25.0
    assert row["province_code"] == "32" and row["region_name"] == "Kabupaten Bogor"


def test_integration_index_by_event_time() -> None:
    store: dict = {}
    for i in range(3):
        apply_event(store, "planning", "RkpdApproved", ev("11", T0 + timedelta(hours=i)))
    row = render_row("integration_index", "11|planning", store["integration_index|11|planning"])
    assert row["events_total"] == 3
    assert row["active_days"] == 2  # 23:30 on the 31st, then 00:30 and 01:30 on April 1st
    assert row["last_seen"] == int((T0 + timedelta(hours=2)).timestamp() * 1000)


def test_complaints_cohort_by_received_month_and_small_counts_suppressed() -> None:
    store: dict = {}
    for i in range(6):
        apply_event(store, "complaints", "ComplaintReceived", ev("33", T0, complaint_id=str(i)))
    for i in range(5):
        resolved = T0 + timedelta(hours=i + 1)  # resolved in April, received in March
        apply_event(store, "complaints", "ComplaintResolved", ev("33", resolved, complaint_id=str(i), received_at=T0))
    row = render_row("complaint_service_level", "33|2026-03", store["complaint_service_level|33|2026-03"])
    # 1 open complaint is below 5; received and resolved would give it away (6 - 5), so all three hide.
    assert row["received"] is None and row["resolved"] is None
    assert row["open"] is None and row["suppressed"] is True
    assert row["median_resolve_hours"] == 3.0 and row["p90_resolve_hours"] == 5.0


def test_licensing_processing_time() -> None:
    store: dict = {}
    day = datetime(2026, 5, 2, 8, tzinfo=timezone.utc)
    apply_event(store, "licensing", "PermitApplied", ev("51.71", day, permit_id="a"))
    apply_event(store, "licensing", "PermitIssued", ev("51.71", day, permit_id="b", applied_at=day - timedelta(hours=10)))
    apply_event(store, "licensing", "PermitRejected", ev("51.71", day, permit_id="c", applied_at=day - timedelta(hours=2)))
    row = render_row("licensing_throughput", "51.71|2026-05-02", store["licensing_throughput|51.71|2026-05-02"])
    assert (row["applied"], row["issued"], row["rejected"]) == (1, 1, 1)
    assert row["median_processing_hours"] == 6.0


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.9) is None
    assert percentile(list(range(1, 11)), 0.9) == 9.0
    assert percentile([5], 0.5) == 5.0


def test_integration_gauges_count_publishing_and_silent_regions() -> None:
    from processors.health import integration_gauges

    now = T0.timestamp() + 3600
    store: dict = {}
    apply_event(store, "planning", "RkpdApproved", ev("32.01", T0))  # 1 h ago: publishing
    apply_event(store, "planning", "RkpdApproved", ev("32.02", T0 - timedelta(days=3)))  # silent
    apply_event(store, "planning", "RkpdApproved", ev("33", T0))
    apply_event(store, "budgeting", "BudgetAllocated", ev("32", T0, fiscal_year=2026, amount=Decimal("1")))
    gauges = integration_gauges(store.items(), now_s=now)
    assert gauges == {("32", "planning"): (1, 1), ("33", "planning"): (1, 0), ("32", "budgeting"): (1, 0)}


from hypothesis import given, strategies as st  # noqa: E402

from processors.views.aggregates import median  # noqa: E402


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=60))
def test_durations_kept_as_counts_give_the_list_median_and_percentile(values: list[int]) -> None:
    import math
    import statistics

    counts: dict[str, int] = {}
    for v in values:
        counts[str(v)] = counts.get(str(v), 0) + 1
    assert median(counts) == statistics.median(values)
    ordered = sorted(values)
    assert percentile(counts, 0.9) == float(ordered[max(0, math.ceil(0.9 * len(values)) - 1)])
    assert median(values) == statistics.median(values)  # rows written before the counts format
