"""Province and nation roll-ups of the views: exact values, suppression kept."""

from __future__ import annotations

import pytest

from processors.api.rollups import regions_per_province, roll_up


def ii(region: str, province: str, theme: str, events: int, first: str = "2025-01-02T00:00:00.000Z", last: str = "2025-01-03T00:00:00.000Z") -> dict:
    return {"region_code": region, "region_name": "x", "province_code": province, "theme": theme, "events_total": events,
            "first_seen": first, "last_seen": last, "active_days": 1, "events_per_day": float(events)}


def ba(region: str, province: str, year: int, allocated: str, realised: str) -> dict:
    return {"region_code": region, "region_name": "x", "province_code": province, "fiscal_year": year,
            "allocated": allocated, "realised": realised, "absorption_pct": None}


def cs(region: str, province: str, month: str, received, resolved, open_) -> dict:
    return {"region_code": region, "region_name": "x", "province_code": province, "month": month, "received": received,
            "resolved": resolved, "open": open_, "median_resolve_hours": 1.5, "p90_resolve_hours": 3.0,
            "suppressed": None in (received, resolved, open_)}


def lt(region: str, province: str, day: str, applied: int, issued: int, rejected: int) -> dict:
    return {"region_code": region, "region_name": "x", "province_code": province, "day": day, "applied": applied,
            "issued": issued, "rejected": rejected, "median_processing_hours": 2.0}


def test_regions_per_province_counts_the_province_and_its_kabupaten_kota():
    counts = regions_per_province()
    assert counts["32"] == 28 and counts["33"] == 36
    assert sum(counts.values()) == 552 and len(counts) == 38


def test_integration_index_province_and_nation():
    rows = [
        ii("32.01", "32", "budgeting", 10, first="2025-01-01T08:00:00.000Z"),
        ii("32.01", "32", "complaints", 4, last="2025-01-05T00:00:00.000Z"),
        ii("32.73", "32", "budgeting", 6),
        ii("32", "32", "treasury", 2),
        ii("33.01", "33", "budgeting", 5),
    ]
    assert roll_up("integration_index", rows, "province") == [
        {"level": "province", "province_code": "32", "province_name": "Jawa Barat", "regions_total": 28,
         "regions_publishing": 3, "integration_pct": 10.71, "themes_published": 3, "events_total": 22,
         "first_seen": "2025-01-01T08:00:00.000Z", "last_seen": "2025-01-05T00:00:00.000Z"},
        {"level": "province", "province_code": "33", "province_name": "Jawa Tengah", "regions_total": 36,
         "regions_publishing": 1, "integration_pct": 2.78, "themes_published": 1, "events_total": 5,
         "first_seen": "2025-01-02T00:00:00.000Z", "last_seen": "2025-01-03T00:00:00.000Z"},
    ]
    assert roll_up("integration_index", rows, "nation") == [
        {"level": "nation", "province_code": None, "province_name": None, "regions_total": 552,
         "regions_publishing": 4, "integration_pct": 0.72, "themes_published": 3, "events_total": 27,
         "first_seen": "2025-01-01T08:00:00.000Z", "last_seen": "2025-01-05T00:00:00.000Z"},
    ]


def test_budget_absorption_recomputes_the_ratio_from_the_sums():
    rows = [
        ba("32.01", "32", 2025, "1000.00", "250.00"),
        ba("32.73", "32", 2025, "3000.50", "3000.50"),
        ba("32.01", "32", 2024, "0.00", "10.00"),
        ba("33.01", "33", 2025, "500.00", "0.00"),
    ]
    assert roll_up("budget_absorption", rows, "province") == [
        {"level": "province", "province_code": "32", "province_name": "Jawa Barat", "fiscal_year": 2024, "regions": 1,
         "allocated": "0.00", "realised": "10.00", "absorption_pct": None},
        # (250 + 3000.50) / (1000 + 3000.50) = 81.25%, not the mean of 25% and 100%.
        {"level": "province", "province_code": "32", "province_name": "Jawa Barat", "fiscal_year": 2025, "regions": 2,
         "allocated": "4000.50", "realised": "3250.50", "absorption_pct": 81.25},
        {"level": "province", "province_code": "33", "province_name": "Jawa Tengah", "fiscal_year": 2025, "regions": 1,
         "allocated": "500.00", "realised": "0.00", "absorption_pct": 0.0},
    ]
    assert roll_up("budget_absorption", rows, "nation") == [
        {"level": "nation", "province_code": None, "province_name": None, "fiscal_year": 2024, "regions": 1,
         "allocated": "0.00", "realised": "10.00", "absorption_pct": None},
        {"level": "nation", "province_code": None, "province_name": None, "fiscal_year": 2025, "regions": 3,
         "allocated": "4500.50", "realised": "3250.50", "absorption_pct": 72.23},
    ]


def test_complaints_sum_only_when_no_row_hides_a_count():
    rows = [
        cs("32.01", "32", "2025-01", 12, 7, 5),
        cs("32.73", "32", "2025-01", 20, 10, 10),
        # 33.01 hides resolved (3) but shows received and open: its province total must not show
        # received and open either, or resolved would follow by subtraction.
        cs("33.01", "33", "2025-01", 12, None, 9),
        cs("33.02", "33", "2025-01", 30, 20, 10),
        cs("32.01", "32", "2025-02", None, None, None),
    ]
    assert roll_up("complaint_service_level", rows, "province") == [
        {"level": "province", "province_code": "32", "province_name": "Jawa Barat", "month": "2025-01", "regions": 2,
         "received": 32, "resolved": 17, "open": 15, "median_resolve_hours": None, "p90_resolve_hours": None,
         "regions_suppressed": 0, "suppressed": False},
        {"level": "province", "province_code": "32", "province_name": "Jawa Barat", "month": "2025-02", "regions": 1,
         "received": None, "resolved": None, "open": None, "median_resolve_hours": None, "p90_resolve_hours": None,
         "regions_suppressed": 1, "suppressed": True},
        {"level": "province", "province_code": "33", "province_name": "Jawa Tengah", "month": "2025-01", "regions": 2,
         "received": None, "resolved": None, "open": None, "median_resolve_hours": None, "p90_resolve_hours": None,
         "regions_suppressed": 1, "suppressed": True},
    ]
    # The nation hides January too: otherwise nation minus province 32 would give province 33's totals.
    nation = roll_up("complaint_service_level", rows, "nation")
    assert [(r["month"], r["received"], r["resolved"], r["open"], r["regions_suppressed"]) for r in nation] == [
        ("2025-01", None, None, None, 1),
        ("2025-02", None, None, None, 1),
    ]


def test_licensing_sums_counts_and_drops_medians():
    rows = [lt("32.01", "32", "2025-01-02", 3, 2, 1), lt("32.02", "32", "2025-01-02", 4, 0, 2), lt("33.01", "33", "2025-01-02", 1, 1, 0)]
    assert roll_up("licensing_throughput", rows, "province") == [
        {"level": "province", "province_code": "32", "province_name": "Jawa Barat", "day": "2025-01-02", "regions": 2,
         "applied": 7, "issued": 2, "rejected": 3, "median_processing_hours": None},
        {"level": "province", "province_code": "33", "province_name": "Jawa Tengah", "day": "2025-01-02", "regions": 1,
         "applied": 1, "issued": 1, "rejected": 0, "median_processing_hours": None},
    ]
    assert roll_up("licensing_throughput", rows, "nation")[0]["applied"] == 8


def test_region_level_is_the_rows_unchanged_and_empty_input_gives_no_rows():
    rows = [lt("32.01", "32", "2025-01-02", 3, 2, 1)]
    assert roll_up("licensing_throughput", rows, "region") == rows
    assert roll_up("budget_absorption", [], "nation") == []
    with pytest.raises(ValueError):
        roll_up("budget_absorption", rows, "kabupaten")
