"""The dashboard in headless Chromium over rows this module produces: the four views, drill-down, map, silent regions, freshness, DLQ, language.

The views API runs as a real process (tests/fixtures/views_api.py) over prefixed view topics holding
:data:`ROWS`, and DLQ topics under the same prefix holding :data:`DEAD_LETTERS`. ``last_seen`` times are
relative to now, so the silent-region counts are exact whatever day the test runs. Screenshots at
nation, province and region level go to ``$EGOV_TEST_ARTEFACTS`` (default ``test-artifacts/``),
printed by the test.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import NewTopic

from schemas.topic_names import dlq_topic
from tests.fixtures.chromium import DevTools, Figures
from tests.fixtures.processors import wait_until
from tests.fixtures.views_api import DashboardServer, ViewTopics, ba_row, cs_row, ii_row, lt_row

pytestmark = pytest.mark.integration

ARTEFACTS = Path(os.environ.get("EGOV_TEST_ARTEFACTS") or Path(__file__).resolve().parents[3] / "test-artifacts")
NOW_MS = int(time.time() * 1000)
HOUR, DAY = 3_600_000, 86_400_000

ROWS = {
    "integration_index": [
        ii_row("32.01", "budgeting", 10, NOW_MS - 40 * DAY, NOW_MS - HOUR, 2),
        ii_row("32.01", "complaints", 4, NOW_MS - 40 * DAY, NOW_MS - 20 * DAY, 1),
        ii_row("32.73", "budgeting", 6, NOW_MS - 40 * DAY, NOW_MS - 10 * DAY, 3),
        ii_row("32", "treasury", 2, NOW_MS - 40 * DAY, NOW_MS - 2 * DAY, 1),
        ii_row("33.01", "budgeting", 5, NOW_MS - 40 * DAY, NOW_MS - 3 * HOUR, 1),
    ],
    "budget_absorption": [
        ba_row("32.01", 2025, "1000000.00", "250000.00"),
        ba_row("32.73", 2025, "3000000.50", "3000000.50"),
        ba_row("33.01", 2025, "500000.00", "100000.00"),
        ba_row("32.01", 2024, "4500000000.00", "3000000000.00"),
    ],
    "complaint_service_level": [
        cs_row("32.01", "2025-01", 12, 7, 5),
        cs_row("32.73", "2025-01", 20, 10, 10),
        cs_row("32.01", "2025-02", 30, 25, 5),
        cs_row("33.01", "2025-01", None, None, None),
    ],
    "licensing_throughput": [
        lt_row("32.01", "2025-01-02", 3, 2, 1),
        lt_row("32.02", "2025-01-02", 4, 0, 2),
        lt_row("32.01", "2025-01-03", 5, 4, 0),
        lt_row("33.01", "2025-01-03", 2, 1, 1),
    ],
}
DEAD_LETTERS = {"budgeting": 3, "complaints": 0}  # the other themes have no DLQ topic under the prefix


@pytest.fixture(scope="module")
def rows_server(stack_settings, admin, registry, tmp_path_factory):
    topics = ViewTopics(stack_settings, admin, registry).create()
    dlqs = {theme: dlq_topic(theme, topics.prefix) for theme in DEAD_LETTERS}
    for future in admin.create_topics([NewTopic(t, 2, 1) for t in dlqs.values()], operation_timeout=10).values():
        future.result(timeout=15)
    for theme, n in DEAD_LETTERS.items():
        for i in range(n):
            topics.producer.produce(dlqs[theme], b"dead letter", key=f"32.01|{i}")
    topics.produce(ROWS)
    server = DashboardServer(stack_settings, topics.prefix, tmp_path_factory.mktemp("dashboard-views") / "dashboard.log")
    try:
        wait_until(server.healthy, 60, "the views API to report healthy", interval=0.3)
        yield server
    finally:
        server.stop()
        topics.delete()
        for future in admin.delete_topics(list(dlqs.values()), operation_timeout=10).values():
            try:
                future.result(timeout=15)
            except Exception:  # best effort: uniquely named
                pass


@pytest.fixture
def browser(tmp_path):
    browser = DevTools(tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.close()


def js(browser: DevTools, expression: str):
    return browser.evaluate(expression)


def value(browser: DevTools, testid: str) -> str | None:
    return js(browser, f'document.querySelector(\'[data-testid="{testid}"]\')?.dataset.value ?? null')


def text(browser: DevTools, testid: str) -> str | None:
    return js(browser, f'document.querySelector(\'[data-testid="{testid}"]\')?.textContent ?? null')


def rendered(browser: DevTools) -> str | None:
    return js(browser, "document.body?.dataset.rendered ?? null")


def page(browser: DevTools) -> Figures:
    return Figures(js(browser, "document.documentElement.outerHTML"))


LAPTOP = (1280, 900, 1, False)


def open_logged_in(browser: DevTools, server: DashboardServer, query: str = "", expect: str = "||id",
                   viewport: tuple[int, int, int, bool] = LAPTOP) -> None:
    """Open ``/<query>``, put the nation token in the tab, and wait until the page drew ``expect`` (province|region|lang)."""
    browser.open(f"{server.url}/{query}")
    width, height, scale, mobile = viewport
    browser.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile})
    # Until its script asked the API and was refused, the login form is not wired up yet.
    wait_until(lambda: js(browser, "document.getElementById('access-message')?.hidden === false"), 30,
               "the page to ask for a token", interval=0.1)
    js(browser, "(() => { document.getElementById('token').value = " + json.dumps(server.token) + ";"
                " document.getElementById('login').requestSubmit(); return true; })()")
    wait_until(lambda: rendered(browser) == expect, 30, f"the page drawn at {expect}", interval=0.1)


def drawn_after(browser: DevTools, action: str, expect: str) -> None:
    """Run ``action`` in the page and wait until the page is drawn at ``expect``."""
    js(browser, action)
    wait_until(lambda: rendered(browser) == expect, 30, f"the page drawn at {expect}", interval=0.1)


def screenshot(browser: DevTools, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / name
    shot.write_bytes(base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")
    return shot


def cells(rows: list[dict[str, str]], *fields: str) -> list[tuple[str, ...]]:
    return [tuple(r.get(f, "") for f in fields) for r in rows]


def test_the_four_views_at_nation_level_show_the_produced_rows(rows_server, browser):
    open_logged_in(browser, rows_server)
    p = page(browser)
    assert {k: p.values[k] for k in (
        "integration-regions-publishing", "integration-regions-total", "integration-pct", "integration-events-total",
        "budget-allocated", "budget-realised", "budget-absorption-pct",
        "complaints-received", "complaints-resolved", "complaints-open",
        "licensing-applied", "licensing-issued", "licensing-rejected",
    )} == {
        "integration-regions-publishing": "4", "integration-regions-total": "552", "integration-pct": "0.72",
        "integration-events-total": "27",
        # The latest fiscal year, month and day are shown first.
        "budget-allocated": "4500000.50", "budget-realised": "3350000.50", "budget-absorption-pct": "74.44",
        "complaints-received": "30", "complaints-resolved": "25", "complaints-open": "5",
        "licensing-applied": "7", "licensing-issued": "5", "licensing-rejected": "1",
    }
    # As officials write them: Rp with "." thousands and "," decimals, juta/miliar, percentages with a comma.
    assert (text(browser, "budget-allocated"), text(browser, "budget-absorption-pct"), text(browser, "integration-pct")) == (
        "Rp 4,5 juta", "74,44%", "0,72%")
    assert cells(p.rows["integration-row"], "data-province", "regions_publishing", "regions_total", "integration_pct", "events_total") == [
        ("32", "3", "28", "10.71", "22"), ("33", "1", "36", "2.78", "5")]
    assert cells(p.rows["budget-row"], "data-province", "data-fiscal-year", "allocated", "realised", "absorption_pct") == [
        ("32", "2025", "4000000.50", "3250000.50", "81.25"), ("33", "2025", "500000.00", "100000.00", "20")]
    assert cells(p.rows["complaints-row"], "data-province", "data-month", "received", "resolved", "open") == [
        ("32", "2025-02", "30", "25", "5")]
    assert cells(p.rows["licensing-row"], "data-province", "data-day", "applied", "issued", "rejected") == [
        ("32", "2025-01-03", "5", "4", "0"), ("33", "2025-01-03", "2", "1", "1")]
    # Charts over time, inline SVG: integration by theme, absorption by year, complaints by month, licensing by day.
    marks = js(browser, """[...document.querySelectorAll('[data-testid$="-chart"] [data-series]')]
        .map(m => `${m.closest('[data-testid]').dataset.testid}|${m.dataset.key}|${m.dataset.series}|${m.dataset.value}`)""")
    assert sorted(marks) == sorted([
        "integration-chart|budgeting|integration_pct|0.54", "integration-chart|complaints|integration_pct|0.18",
        "integration-chart|treasury|integration_pct|0.18",
        "budget-chart|2024|allocated|4500000000.00", "budget-chart|2024|realised|3000000000.00",
        "budget-chart|2025|allocated|4500000.50", "budget-chart|2025|realised|3350000.50",
        # January hides its counts: 33.01 suppressed its own, so the nation's would give them away.
        "complaints-chart|2025-01|received|", "complaints-chart|2025-01|resolved|",
        "complaints-chart|2025-02|received|30", "complaints-chart|2025-02|resolved|25",
        *(f"licensing-chart|{day}|{s}|{v}" for day, vals in (("2025-01-02", (7, 2, 3)), ("2025-01-03", (7, 5, 1)))
          for s, v in zip(("applied", "issued", "rejected"), vals)),
    ])
    # Another month: January's nation total is suppressed (33.01 hides its counts), shown as "<5".
    drawn_after(browser, "(() => { const s = document.getElementById('month'); s.value = '2025-01';"
                         " s.dispatchEvent(new Event('change')); return true; })()", "||id")
    wait_until(lambda: value(browser, "complaints-received") == "", 30, "January's suppressed total", interval=0.1)
    assert text(browser, "complaints-received") == "<5"
    assert cells(page(browser).rows["complaints-row"], "data-province", "received", "resolved", "open") == [
        ("32", "32", "17", "15"), ("33", "", "", "")]
    screenshot(browser, "dashboard-nation.png")


def test_a_click_on_a_province_drills_down_to_its_regions_and_back(rows_server, browser):
    open_logged_in(browser, rows_server)
    drawn_after(browser, "document.querySelector('[data-testid=\"integration-row\"][data-province=\"32\"]').click()", "32||id")
    assert js(browser, "location.search") == "?province=32"
    assert js(browser, "[...document.querySelectorAll('[data-testid=\"crumb\"]')].map(n => n.textContent)") == ["Indonesia", "Jawa Barat"]
    p = page(browser)
    assert {k: p.values[k] for k in ("integration-regions-publishing", "integration-regions-total", "integration-pct",
                                     "integration-events-total", "budget-allocated", "budget-realised", "budget-absorption-pct",
                                     "complaints-received", "licensing-applied")} == {
        "integration-regions-publishing": "3", "integration-regions-total": "28", "integration-pct": "10.71",
        "integration-events-total": "22", "budget-allocated": "4000000.50", "budget-realised": "3250000.50",
        "budget-absorption-pct": "81.25", "complaints-received": "30", "licensing-applied": "5"}
    # Every regional government of Jawa Barat, also those that published nothing.
    ii = {r["data-region"]: (r["themes_published"], r["events_total"]) for r in p.rows["integration-row"]}
    assert len(ii) == 28 and ii["32.01"] == ("2", "14") and ii["32.73"] == ("1", "6") and ii["32"] == ("1", "2") and ii["32.02"] == ("0", "0")
    assert cells(p.rows["budget-row"], "data-region", "allocated", "realised", "absorption_pct") == [
        ("32.01", "1000000.00", "250000.00", "25"), ("32.73", "3000000.50", "3000000.50", "100")]
    assert cells(p.rows["licensing-row"], "data-region", "applied", "issued", "rejected") == [("32.01", "5", "4", "0")]
    # Times in the province's own zone (Jawa Barat: WIB).
    assert "WIB" in js(browser, "document.getElementById('integration-table').textContent")
    screenshot(browser, "dashboard-province.png")

    # Keyboard: focus the region's row and press Enter.
    drawn_after(browser, """(() => { const row = document.querySelector('[data-testid="integration-row"][data-region="32.01"]');
        row.focus(); row.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); return true; })()""", "32|32.01|id")
    assert js(browser, "location.search") == "?province=32&region=32.01"
    assert js(browser, "[...document.querySelectorAll('[data-testid=\"crumb\"]')].map(n => n.textContent)") == [
        "Indonesia", "Jawa Barat", "Kabupaten Bogor"]
    p = page(browser)
    assert {k: p.values[k] for k in ("integration-themes-published", "integration-events-total", "budget-allocated",
                                     "complaints-received", "complaints-median-hours", "licensing-applied")} == {
        "integration-themes-published": "2", "integration-events-total": "14", "budget-allocated": "1000000.00",
        "complaints-received": "30", "complaints-median-hours": "5", "licensing-applied": "5"}
    assert cells(p.rows["integration-row"], "data-theme", "events_total") == [("budgeting", "10"), ("complaints", "4")]
    assert cells(p.rows["budget-row"], "data-fiscal-year", "allocated", "realised", "absorption_pct") == [
        ("2024", "4500000000.00", "3000000000.00", "66.67"), ("2025", "1000000.00", "250000.00", "25")]
    assert cells(p.rows["complaints-row"], "data-month", "received", "median_resolve_hours", "p90_resolve_hours") == [
        ("2025-01", "12", "5", "9"), ("2025-02", "30", "5", "9")]
    assert cells(p.rows["licensing-row"], "data-day", "applied", "issued", "rejected") == [
        ("2025-01-02", "3", "2", "1"), ("2025-01-03", "5", "4", "0")]
    assert "Rp 4.500.000.000" in js(browser, "document.getElementById('budget-table').textContent")
    screenshot(browser, "dashboard-region.png")

    # The back button returns to the province, then to the nation; the URL can be shared.
    drawn_after(browser, "history.back()", "32||id")
    assert js(browser, "location.search") == "?province=32"
    drawn_after(browser, "history.back()", "||id")
    browser.call("Page.navigate", {"url": f"{rows_server.url}/?province=33"})
    wait_until(lambda: rendered(browser) == "33||id", 30, "a shared province URL", interval=0.1)
    assert value(browser, "integration-events-total") == "5"


def test_the_map_tile_of_a_province_carries_its_value_and_opens_it(rows_server, browser):
    open_logged_in(browser, rows_server)
    tile = "document.querySelector('[data-testid=\"tile\"][data-province=\"{}\"]')"
    assert js(browser, "document.querySelectorAll('[data-testid=\"tile\"]').length") == 38
    assert js(browser, tile.format("32") + ".dataset.value") == "10.71"
    assert js(browser, tile.format("32") + ".getAttribute('aria-label')") == "Jawa Barat: 10,71%"
    assert js(browser, tile.format("11") + ".dataset.value") == "0"  # Aceh: nobody publishes yet
    drawn_after(browser, "(() => { const s = document.getElementById('measure'); s.value = 'absorption';"
                         " s.dispatchEvent(new Event('change')); return true; })()", "||id")
    wait_until(lambda: js(browser, tile.format("32") + ".dataset.value") == "81.25", 30, "the absorption on the map", interval=0.1)
    assert js(browser, tile.format("11") + ".dataset.value") == ""  # no budget rows: no data, not zero
    drawn_after(browser, tile.format("33") + ".click()", "33||id")
    assert js(browser, "location.search") == "?province=33"


def test_silent_regions_per_province_for_a_chosen_number_of_days(rows_server, browser):
    open_logged_in(browser, rows_server)
    silent = lambda: {r["data-province"]: (r["regions_silent"], r["regions_total"], r["never_seen"])  # noqa: E731
                      for r in page(browser).rows["silent-row"]}
    rows = silent()
    # 7 days: of Jawa Barat's 28, 32.01 (1 h ago) and the province (2 days) published; 32.73 (10 days) went silent.
    assert (rows["32"], rows["33"], rows["11"], len(rows)) == (("26", "28", "25"), ("35", "36", "35"), ("24", "24", "24"), 38)
    drawn_after(browser, "(() => { const s = document.getElementById('silent-days'); s.value = '30';"
                         " s.dispatchEvent(new Event('change')); return true; })()", "||id")
    wait_until(lambda: silent()["32"] == ("25", "28", "25"), 30, "30 days' silent regions", interval=0.1)
    drawn_after(browser, "(() => { const s = document.getElementById('silent-theme'); s.value = 'budgeting';"
                         " s.dispatchEvent(new Event('change')); return true; })()", "||id")
    wait_until(lambda: silent()["32"] == ("26", "28", "26"), 30, "silent in budgeting", interval=0.1)
    # At the province: which regions, with when they last published (7 days, every theme).
    drawn_after(browser, "(() => { const s = document.getElementById('silent-days'); s.value = '7';"
                         " s.dispatchEvent(new Event('change')); return true; })()", "||id")
    drawn_after(browser, "document.querySelector('[data-testid=\"silent-row\"][data-province=\"32\"]').click()", "32||id")
    wait_until(lambda: len(page(browser).rows.get("silent-row", [])) == 27, 30, "Jawa Barat's silent regions in budgeting", interval=0.1)
    listed = {r["data-region"]: r.get("last_seen") for r in page(browser).rows["silent-row"]}
    assert "32.01" not in listed and listed["32"] == "" and listed["32.73"].endswith("Z")


def test_freshness_of_each_view_and_dead_letters_per_theme(rows_server, browser):
    open_logged_in(browser, rows_server)
    p = page(browser)
    assert sorted((r["data-view"], r["data-stale"]) for r in p.rows["freshness-row"]) == [
        ("budget_absorption", "false"), ("complaint_service_level", "false"),
        ("integration_index", "false"), ("licensing_throughput", "false")]
    dlq = {r["data-theme"]: r["depth"] for r in p.rows["dlq-row"]}
    assert (dlq["budgeting"], dlq["complaints"], dlq["planning"], len(dlq)) == ("3", "0", "", 15)
    shown = js(browser, "document.getElementById('dlq-table').textContent")
    assert "tidak diketahui" in shown
    assert "≤ 3" in shown  # an offset span: at most 3 (transaction markers take offsets too)


def test_the_language_switch_changes_the_labels_and_is_remembered(rows_server, browser):
    open_logged_in(browser, rows_server)
    heading = "document.getElementById('ii-h').textContent"
    assert (js(browser, "document.documentElement.lang"), js(browser, heading), text(browser, "status")) == (
        "id", "Indeks integrasi", "langsung")
    drawn_after(browser, "document.getElementById('lang-switch').click()", "||en")
    assert (js(browser, "document.documentElement.lang"), js(browser, heading), text(browser, "status")) == (
        "en", "Integration index", "live")
    assert (text(browser, "budget-allocated"), text(browser, "integration-pct")) == ("Rp 4.5 million", "0.72%")
    assert js(browser, "location.search") == "?lang=en"
    assert js(browser, "localStorage.getItem('egov-bus.lang')") == "en"
    # Remembered: a new visit without ?lang stays in English; ?lang=id switches back.
    browser.call("Page.navigate", {"url": f"{rows_server.url}/?province=32"})
    wait_until(lambda: rendered(browser) == "32||en", 30, "the page in English again", interval=0.1)
    assert js(browser, "document.getElementById('cs-h').textContent") == "Complaint service level"
    browser.call("Page.navigate", {"url": f"{rows_server.url}/?lang=id"})
    wait_until(lambda: rendered(browser) == "||id", 30, "the page in Indonesian", interval=0.1)
    assert js(browser, "document.getElementById('lt-h').textContent") == "Perizinan"


def test_readable_on_a_phone(rows_server, browser):
    open_logged_in(browser, rows_server, viewport=(390, 844, 2, True))
    # Nothing wider than the screen: the page does not scroll sideways.
    assert js(browser, "document.documentElement.scrollWidth <= window.innerWidth") is True
    screenshot(browser, "dashboard-phone.png")
