"""A view's rows as people read them (no reprs): times, rupiah, ratios, suppressed counts."""

from datetime import datetime, timezone
from decimal import Decimal

from rich.console import Console

from processors.views.display import cell, view_table


def test_each_kind_of_value_reads_as_text() -> None:
    assert cell("first_seen", datetime(2026, 12, 1, 7, 11, 51, 10000, tzinfo=timezone.utc)) == "2026-12-01 07:11"
    assert cell("allocated", "4500000000.50") == "4,500,000,000.50"
    assert cell("x", Decimal("1500000.5")) == "1,500,000.50"
    assert cell("absorption_pct", 6.1849) == "6.18"
    assert cell("events_total", 12345) == "12,345"
    assert cell("fiscal_year", 2026) == "2026"
    assert cell("received", None) == "—"
    assert cell("suppressed", True) == "yes"
    assert cell("theme", "budgeting") == "budgeting"


def test_a_table_has_readable_headings_and_no_repr() -> None:
    rows = [{"region_code": "32.01", "region_name": "Kabupaten Bogor", "province_code": "32", "fiscal_year": 2026,
             "allocated": "47596168735.11", "realised": "2942126110.41", "absorption_pct": 6.18,
             "last_seen": datetime(2026, 12, 1, 7, 11, tzinfo=timezone.utc)}]
    console = Console(width=200, record=True)
    console.print(view_table(rows, title="budget_absorption: 1 row(s)"))
    text = console.export_text()
    assert "budget_absorption: 1 row(s)" in text
    assert "allocated (Rp)" in text and "47,596,168,735.11" in text and "2026-12-01 07:11" in text
    assert "datetime.datetime(" not in text and "Decimal(" not in text


def test_no_rows_is_said() -> None:
    console = Console(width=80, record=True)
    console.print(view_table([]))
    assert "(no rows)" in console.export_text()
